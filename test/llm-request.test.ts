import { describe, expect, it } from 'vitest';
import { operationOfPath } from '../instrumentation/llm-request.js';

describe('the GenAI operation of a captured call', () => {
  it('follows the request path, whatever the host', () => {
    expect(operationOfPath('/v1/chat/completions')).toBe('chat');
    expect(operationOfPath('/openai/deployments/x/chat/completions')).toBe('chat');
    expect(operationOfPath('/v1/responses')).toBe('chat');
    expect(operationOfPath('/v1/messages')).toBe('chat');
    expect(operationOfPath('/api/chat')).toBe('chat');
    expect(operationOfPath('/v1/completions')).toBe('text_completion');
    expect(operationOfPath('/api/generate')).toBe('text_completion');
    expect(operationOfPath('/v1/embeddings')).toBe('embeddings');
    expect(operationOfPath('/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(operationOfPath('/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toBe('generate_content');
  });
});
