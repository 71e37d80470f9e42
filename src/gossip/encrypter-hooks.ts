// A libp2p connection encrypter (e.g. `noise()`) with hooks on the connections it secures: `before`
// gets the raw connection before the handshake, `after` the secured one. Everything else (protocol,
// its name) is the inner encrypter's. No library file is changed.

export interface Encrypter {
  secureInbound(connection: object, ...rest: never[]): Promise<{ connection: unknown }>;
  secureOutbound(connection: object, ...rest: never[]): Promise<{ connection: unknown }>;
}

export interface EncrypterHooks {
  before?(connection: object): void;
  after?(secured: unknown): void;
}

/** `factory` (what an encrypter module returns: components -> encrypter), its connections passed through `hooks`. */
export function hookedEncrypter<A extends unknown[], E extends Encrypter>(factory: (...a: A) => E, hooks: EncrypterHooks): (...a: A) => E {
  return (...a: A): E => {
    const inner = factory(...a);
    const wrapped = Object.create(inner) as E;
    const w: Encrypter = wrapped;
    const secure = (side: 'secureInbound' | 'secureOutbound'): Encrypter[typeof side] => async (connection, ...rest) => {
      hooks.before?.(connection);
      const r = await inner[side](connection, ...rest);
      hooks.after?.(r.connection);
      return r;
    };
    w.secureInbound = secure('secureInbound');
    w.secureOutbound = secure('secureOutbound');
    return wrapped;
  };
}
