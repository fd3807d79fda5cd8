// Command ids shared by the extension and the server (no imports: the client bundles this).

/** The palette command the extension registers ("Remove pfncache usage flags from the tree"). */
export const REMOVE_USAGE_FLAGS_COMMAND = 'gpcscope.removeUsageFlags';
/**
 * The id the server advertises in executeCommandProvider. It differs from the
 * palette command because vscode-languageclient registers every advertised
 * command itself, and one id cannot be registered twice.
 */
export const REMOVE_USAGE_FLAGS_SERVER_COMMAND = 'gpcscope.server.removeUsageFlags';
