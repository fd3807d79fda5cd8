// Entry point of dist/server.js, the process the VS Code extension starts.
import { keepServerAlive, startServer } from './server';

keepServerAlive();
startServer();
