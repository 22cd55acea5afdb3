/** Terminal addresses (`lan1…` / `wan1…`): network, encryption key and optional inbox URL in one string. */
export {
  ADDRESS_VERSION,
  type Address,
  type AddressProblem,
  decodeAddress,
  encodeAddress,
  MAX_ADDRESS_CHARS,
  MAX_INBOX_BYTES,
  type Network,
} from './address.js';
