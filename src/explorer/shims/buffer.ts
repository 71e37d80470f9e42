// Injected into the browser bundle: the shared byte helpers use Node's Buffer for hex.
export { Buffer } from 'buffer';
