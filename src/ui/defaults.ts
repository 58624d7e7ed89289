/** The UI's defaults, in a module of their own so the CLI can print them without loading the server. */
export const DEFAULT_UI_HOST = '127.0.0.1';
export const DEFAULT_UI_PORT = 4319;
export const UI_TOKEN_ENV_VAR = 'AGENTLOUPE_UI_TOKEN';
