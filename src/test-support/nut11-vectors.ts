/** The spec's NUT-11/14 vectors (`../shared/vectors/nut11.json`), typed, for the signing and verifying tests. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface VProof {
  amount: number;
  id: string;
  secret: string;
  C: string;
  witness?: string;
}
export interface VRequest {
  inputs: VProof[];
  outputs: { amount: number; id: string; B_: string }[];
  quote?: string;
}
export interface Nut11 {
  proofs: { name: string; expected_valid?: boolean; proof: VProof }[];
  sig_all_msg_to_sign: { name: string; request: VRequest; msg_to_sign: string; msg_hash_hex: string }[];
  sig_all_requests: { name: string; expected_valid: boolean; request: VRequest }[];
}

export const nut11Vectors: Nut11 = (
  JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/nut11.json'), 'utf8')) as { cases: Nut11 }
).cases;
