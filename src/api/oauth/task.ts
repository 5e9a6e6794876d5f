import type { CredentialRequest } from '../../broker/index.js';
import { TaskSchema } from '../schemas.js';
import { OAuthError } from './errors.js';
import { type FormParameters, one, required } from './form.js';

/**
 * The task the credential is for, from the vendor parameters RFC 6749 §8.2 makes room for,
 * checked by the same schema as the JSON body of `/v1/credentials`.
 */
export function taskOf(params: FormParameters): CredentialRequest['task'] {
  const tool = one(params, 'task_tool');
  const parsed = TaskSchema.safeParse({
    id: required(params, 'task_id'),
    intent: required(params, 'task_intent'),
    ...(tool === undefined ? {} : { tool }),
  });
  if (!parsed.success) {
    throw new OAuthError('invalid_request', parsed.error.issues[0]?.message ?? 'bad task fields');
  }
  const { id, intent } = parsed.data;
  return { id, intent, ...(parsed.data.tool === undefined ? {} : { tool: parsed.data.tool }) };
}
