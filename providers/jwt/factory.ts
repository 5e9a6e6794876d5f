import { defineProviderFactory } from '../lib/define-factory.js';
import { jwtTargetSchema } from './config.js';
import { createJwtProvider } from './create-provider.js';

export const jwtProviderFactory = defineProviderFactory('jwt', jwtTargetSchema, createJwtProvider);
