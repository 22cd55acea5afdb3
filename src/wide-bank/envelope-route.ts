/**
 * The one shape of the bank's envelope endpoints (issue, receive): the body is an envelope, the answer
 * is an envelope sent as the exact stored text, so a replay is byte-identical to the first answer.
 */
import { type Envelope, EnvelopeSchema, MAX_CT_CHARS } from '../core/envelope/index.js';
import { type LancashServer, WireErrorSchema } from '../core/http/server.js';

/** An envelope's JSON: `ct` at its largest plus the header fields, with room to spare. */
export const ENVELOPE_BODY_LIMIT = MAX_CT_CHARS + 4096;

export function registerEnvelopeRoute(
  app: LancashServer,
  path: string,
  summary: string,
  handle: (envelope: unknown) => Promise<string>,
): void {
  app.post(
    path,
    {
      bodyLimit: ENVELOPE_BODY_LIMIT,
      schema: {
        summary,
        body: EnvelopeSchema,
        response: { 200: EnvelopeSchema, '4xx': WireErrorSchema },
      },
    },
    async (req, reply) => {
      const answer = await handle(req.body);
      // Fastify sends a string as it is (no re-serialisation): the stored bytes are the answer. The
      // type provider only knows the parsed form, hence the cast.
      return reply.type('application/json; charset=utf-8').send(answer as unknown as Envelope);
    },
  );
}
