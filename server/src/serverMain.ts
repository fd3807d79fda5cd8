// Entry point of dist/server.js, the process the VS Code extension starts.
import { startServer } from './server';

startServer();
