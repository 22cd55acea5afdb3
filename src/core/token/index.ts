/** Cashu tokens (NUT-00): the bearer strings wallets exchange. */
export {
  type DecodeTokenOptions,
  decodeToken,
  decodeTokenRaw,
  encodeTokenV4,
  encodeTokenV4Raw,
  MAX_MEMO_CHARS,
  MAX_MINT_URL_CHARS,
  MAX_TOKEN_CHARS,
  MAX_UNIT_CHARS,
  type Token,
} from './nut00-token.js';
