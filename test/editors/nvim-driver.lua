-- Drives Neovim (headless) the way a user would, after the README's init.lua
-- has started gpcscope for the opened C file: waits for the findings, hovers
-- at a position (vim.lsp.buf.hover, its floating window read back), and picks
-- a code action through vim.lsp.buf.code_action (vim.ui.select answered with
-- the action whose title matches), then :wall. Writes what it saw as JSON to
-- $GPCSCOPE_TEST_OUT and quits. $GPCSCOPE_TEST: {"timeoutMs", "hover": [line, col] (1-based),
-- "action": lua pattern, "actionLine": 1-based line of the finding to fix}.
local out = { steps = {} }
local function finish()
  local f = io.open(os.getenv('GPCSCOPE_TEST_OUT'), 'w')
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd('qall!')
end
local function step(name, fn)
  local ok, err = pcall(fn)
  table.insert(out.steps, { name = name, ok = ok, err = ok and vim.NIL or tostring(err) })
  return ok
end

local ok, cfg = pcall(vim.fn.json_decode, os.getenv('GPCSCOPE_TEST') or '')
if not ok then
  out.error = tostring(cfg)
  finish()
end

local buf = vim.api.nvim_get_current_buf()
out.filetype = vim.bo[buf].filetype
local function ours()
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.source == 'gpcscope' then table.insert(list, d) end
  end
  return list
end

step('diagnostics', function()
  local t0 = vim.loop.hrtime()
  local got = vim.wait(cfg.timeoutMs, function() return #ours() > 0 end, 50)
  out.diagnosticsMs = (vim.loop.hrtime() - t0) / 1e6
  local clients = {}
  for _, c in pairs(vim.lsp.buf_get_clients(buf)) do table.insert(clients, c.name) end
  out.clients = clients
  out.diagnostics = {}
  for _, d in ipairs(ours()) do
    table.insert(out.diagnostics, { line = d.lnum + 1, col = d.col + 1, message = d.message, code = d.user_data and d.user_data.lsp and d.user_data.lsp.code or vim.NIL })
  end
  assert(got, 'no gpcscope diagnostics within ' .. cfg.timeoutMs .. ' ms')
end)

if cfg.hover and #ours() > 0 then
  step('hover', function()
    vim.api.nvim_win_set_cursor(0, { cfg.hover[1], cfg.hover[2] - 1 })
    vim.lsp.buf.hover()
    local text
    vim.wait(10000, function()
      for _, w in ipairs(vim.api.nvim_list_wins()) do
        if vim.api.nvim_win_get_config(w).relative ~= '' then
          text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), '\n')
          return true
        end
      end
      return false
    end, 50)
    out.hover = text or vim.NIL
    assert(text, 'no hover window')
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(w).relative ~= '' then vim.api.nvim_win_close(w, true) end
    end
  end)
end

if cfg.action and #ours() > 0 then
  step('code action', function()
    vim.api.nvim_win_set_cursor(0, { cfg.actionLine, 0 })
    for _, d in ipairs(ours()) do
      if d.lnum + 1 == cfg.actionLine then vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col }) end
    end
    out.offered = {}
    vim.ui.select = function(items, opts, on_choice)
      local chosen
      for _, item in ipairs(items) do
        local title = item[2].title
        table.insert(out.offered, title)
        if not chosen and title:find(cfg.action) then chosen = item end
      end
      on_choice(chosen)
    end
    vim.lsp.buf.code_action()
    local changed = vim.wait(60000, function() return vim.bo[buf].modified end, 100)
    assert(changed, 'the code action changed nothing in the buffer')
    -- The whole-tree edit loads the other files as buffers: save them all.
    out.modified = {}
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.bo[b].modified then table.insert(out.modified, vim.api.nvim_buf_get_name(b)) end
    end
    vim.cmd('silent wall')
  end)
end

finish()
