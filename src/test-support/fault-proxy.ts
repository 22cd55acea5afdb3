/**
 * The fault-injecting HTTP proxy of the tests. It ships in `src/soak/` because `lancash soak` puts
 * it between the gateway and the wide bank; tests keep importing it from here.
 */
export * from '../soak/fault-proxy.js';
