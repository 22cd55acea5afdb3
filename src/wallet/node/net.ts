/**
 * The wallet's network on Node: the portable `httpNet`, under the name the CLI and the demo import.
 * Nothing here is Node-only any more; a Node entry point that wants undici's cheaper calls sets it
 * for the whole process (`setHttpTransport(undiciTransport)`, `core/http/node-transport.ts`).
 */
export { type HttpNetOptions as NodeNetOptions, httpNet as nodeNet } from '../http-net.js';
