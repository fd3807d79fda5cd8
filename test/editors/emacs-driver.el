;;; emacs-driver.el --- drive Emacs (batch) through the README's eglot setup  -*- lexical-binding: t; -*-
;; Loaded after the README's init (-l init.el), with the C file visited. Emacs in
;; batch mode has no command loop, so `post-command-hook' (where eglot-ensure and
;; Flymake start) is run by hand between waits. Then: the findings (Flymake), the
;; hover (eglot's ElDoc function), and a code action picked through
;; `eglot-code-actions' as M-x would (the completing-read answered with the action
;; whose title matches), the edit accepted, every buffer saved. Writes JSON to
;; $GPCSCOPE_TEST_OUT. $GPCSCOPE_TEST: {"timeoutMs", "hover": [line, col] (1-based),
;; "action": regexp, "actionLine": 1-based line}.
(require 'json)
(require 'flymake)
(defvar gpcscope-test--out nil)
(defvar gpcscope-test--steps nil)
(defun gpcscope-test--finish ()
  (setq gpcscope-test--out (append gpcscope-test--out (list (cons 'steps (vconcat (reverse gpcscope-test--steps))))))
  (with-temp-file (getenv "GPCSCOPE_TEST_OUT")
    (insert (json-encode gpcscope-test--out)))
  (kill-emacs 0))
(defun gpcscope-test--put (key value) (setq gpcscope-test--out (append gpcscope-test--out (list (cons key value)))))
(defmacro gpcscope-test--step (name &rest body)
  `(condition-case err
       (progn ,@body (push (list (cons 'name ,name) (cons 'ok t)) gpcscope-test--steps) t)
     (error (push (list (cons 'name ,name) (cons 'ok :json-false) (cons 'err (format "%S" err))) gpcscope-test--steps) nil)))
(defun gpcscope-test--wait (seconds pred)
  "Run the command loop's hooks and timers until PRED or SECONDS pass."
  (let ((deadline (+ (float-time) seconds)) done)
    (while (and (not (setq done (funcall pred))) (< (float-time) deadline))
      (run-hooks 'post-command-hook)
      (accept-process-output nil 0.05))
    done))

(let* ((cfg (json-read-from-string (getenv "GPCSCOPE_TEST")))
       (timeout (/ (alist-get 'timeoutMs cfg) 1000.0))
       (buf (current-buffer))
       (started (float-time))
       (ours (lambda () (seq-filter (lambda (d) (string-match-p "gpcscope\\|\\[gpc-" (format "%s" (flymake-diagnostic-text d))))
                                    (with-current-buffer buf (flymake-diagnostics))))))
  (switch-to-buffer buf)
  (gpcscope-test--put 'mode (symbol-name major-mode))
  (gpcscope-test--step "diagnostics"
    (unless (gpcscope-test--wait timeout (lambda () (and (bound-and-true-p eglot--managed-mode) (funcall ours))))
      (error "no gpcscope diagnostics within %s s (eglot managed: %s)" timeout (bound-and-true-p eglot--managed-mode))))
  (gpcscope-test--put 'diagnosticsMs (* 1000 (- (float-time) started)))
  (gpcscope-test--put 'diagnostics
                      (vconcat (mapcar (lambda (d)
                                         (list (cons 'line (line-number-at-pos (flymake-diagnostic-beg d)))
                                               (cons 'message (substring-no-properties (flymake-diagnostic-text d)))))
                                       (funcall ours))))
  (let ((hover (alist-get 'hover cfg)))
    (when (and hover (funcall ours))
      (gpcscope-test--step "hover"
        (goto-char (point-min))
        (forward-line (1- (aref hover 0)))
        (forward-char (1- (aref hover 1)))
        (let (text)
          (eglot-hover-eldoc-function (lambda (info &rest _) (setq text (or info ""))))
          (unless (gpcscope-test--wait 10 (lambda () text)) (error "no hover answer"))
          (gpcscope-test--put 'hover (substring-no-properties text))))))
  (let ((pattern (alist-get 'action cfg)))
    (when (and pattern (funcall ours))
      (gpcscope-test--step "code action"
        (goto-char (point-min))
        (forward-line (1- (alist-get 'actionLine cfg)))
        (let* ((d (seq-find (lambda (d) (= (line-number-at-pos (flymake-diagnostic-beg d)) (alist-get 'actionLine cfg))) (funcall ours)))
               (offered nil)
               ;; Not a mouse event: eglot asks with completing-read, answered here.
               (last-nonmenu-event 13))
          (when d (goto-char (flymake-diagnostic-beg d)))
          (cl-letf (((symbol-function 'completing-read)
                     (lambda (_prompt collection &rest _)
                       (setq offered (mapcar #'car collection))
                       (seq-find (lambda (title) (string-match-p pattern title)) offered)))
                    ;; "Server wants to edit ... Proceed?": yes.
                    ((symbol-function 'y-or-n-p) (lambda (&rest _) t))
                    ((symbol-function 'yes-or-no-p) (lambda (&rest _) t)))
            (call-interactively #'eglot-code-actions)
            (gpcscope-test--put 'offered (vconcat offered))
            (unless (gpcscope-test--wait 60 (lambda () (buffer-modified-p buf)))
              (error "the code action changed nothing in the buffer")))
          (gpcscope-test--put 'modified (vconcat (delq nil (mapcar (lambda (b) (and (buffer-modified-p b) (buffer-file-name b))) (buffer-list)))))
          (save-some-buffers t))))))
(gpcscope-test--finish)
