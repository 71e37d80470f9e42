// The browser bundle's stand-in for node: modules the shared code imports for Node-only helpers
// (e.g. loadGenesis reads a file; the page gets the genesis over HTTP and never calls them).
const unavailable = (): never => {
  throw new Error('file system access is not available in the browser');
};
export const readFileSync = unavailable;
export const writeFileSync = unavailable;
export const mkdirSync = unavailable;
export const readdirSync = (): string[] => [];
export const relative = (_a: string, b: string): string => b;
export const existsSync = (): boolean => false;
export const join = (...p: string[]): string => p.join('/');
export const resolve = (...p: string[]): string => p.join('/');
export const dirname = (p: string): string => p.replace(/\/[^/]*$/, '');
export const fileURLToPath = (u: string | URL): string => String(u);
export const homedir = (): string => '/';
export const tmpdir = (): string => '/tmp';
export default { readdirSync, relative, readFileSync, writeFileSync, mkdirSync, existsSync, join, resolve, dirname, fileURLToPath, homedir, tmpdir };
