/**
 * A scripted OpenAI-compatible model server for tests and demos: real HTTP on loopback, because a
 * SharedWorker's requests cannot be intercepted by Playwright (docs TOOLCHAIN), so the worker must
 * reach it like a real model.
 *
 * Serves `POST /v1/chat/completions` (JSON, or SSE chunks when `stream: true`, tool calls included),
 * `GET /v1/models`, and permissive CORS so a browser can call it directly. Every chat request body is
 * recorded in `calls`, so a test can assert "exactly one model call for this slot".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The parts of a chat completion request the scripts look at; everything else is kept as sent. */
export interface ChatRequestBody {
  model?: string;
  messages: Array<{
    role: string;
    content?: unknown;
    tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
    tool_call_id?: string;
  }>;
  tools?: Array<{ type: string; function: { name: string; description?: string } }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

/** What the model answers to one call. `error` (or a `status` of 400 and above) answers with an
 * OpenAI-style error body instead; `delayMs` waits before answering (added to `setDelay`). */
export interface ModelReply {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> | string }>;
  usage?: { prompt_tokens: number; completion_tokens: number };
  status?: number;
  error?: string;
  delayMs?: number;
}

/** Decides the reply to a call; `callIndex` counts chat calls to this server from 0; `request`
 * has the call's headers (lower-case names), e.g. to play an endpoint that echoes them. */
export type ModelScript = (
  body: ChatRequestBody,
  callIndex: number,
  request: { headers: Record<string, string | string[] | undefined> },
) => ModelReply | Promise<ModelReply>;

export interface ModelServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  script?: ModelScript;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
  /** Called after each chat call is answered, e.g. to log it. */
  onCall?: (call: { body: ChatRequestBody; reply: ModelReply; callIndex: number }) => void;
}

export interface ModelServer {
  /** Base URL for the openai SDK, ending with `/v1`. */
  url: string;
  /** Bodies of every chat completion request received, in arrival order. */
  calls: ChatRequestBody[];
  callCount(): number;
  /** Replaces the script for later calls; `undefined` restores `defaultModelScript`. */
  setScript(script: ModelScript | undefined): void;
  /** Delay before every answer, in ms (0 by default). */
  setDelay(ms: number): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const toolsCalledSoFar = (body: ChatRequestBody): Set<string> =>
  new Set(
    body.messages.flatMap((message) => message.tool_calls ?? []).map((call) => call.function.name),
  );

/**
 * The default script plays a planner that reads, then proposes, then stops, using only tools the
 * request offers: `list_tasks {}` once, then `create_task {title: 'Review open tasks', ...}` once,
 * then the final answer 'Done.'. With both tools offered a run is three calls.
 */
export const defaultModelScript: ModelScript = (body) => {
  const offered = new Set((body.tools ?? []).map((tool) => tool.function.name));
  const called = toolsCalledSoFar(body);
  if (offered.has('list_tasks') && !called.has('list_tasks')) {
    return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
  }
  if (offered.has('create_task') && !called.has('create_task')) {
    const task = { title: 'Review open tasks', notes: 'Planned by the scripted model' };
    return { toolCalls: [{ name: 'create_task', arguments: task }] };
  }
  return { content: 'Done.' };
};

export async function createModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const calls: ChatRequestBody[] = [];
  let script = options.script ?? defaultModelScript;
  let delayMs = 0;
  const timers = new Set<NodeJS.Timeout>();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => (timers.delete(timer), resolve()), ms);
      timers.add(timer);
    });

  async function answerChat(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body: ChatRequestBody;
    try {
      body = JSON.parse(await readBody(request)) as ChatRequestBody;
      if (!Array.isArray(body.messages)) throw new Error('messages must be an array');
    } catch (error) {
      return sendError(response, 400, `invalid request body: ${String(error)}`);
    }
    const callIndex = calls.length;
    calls.push(body);
    const reply = await script(body, callIndex, { headers: request.headers });
    await wait(delayMs + (reply.delayMs ?? 0));
    if (response.destroyed) return; // the client gave up (timeout or abort) while we waited
    options.onCall?.({ body, reply, callIndex });
    if (reply.error !== undefined || (reply.status ?? 200) >= 400) {
      return sendError(response, reply.status ?? 500, reply.error ?? 'scripted error');
    }
    const completion = shapeCompletion(body, reply, callIndex);
    if (body.stream) {
      streamCompletion(response, completion, body.stream_options?.include_usage);
    } else {
      sendCompletion(response, completion);
    }
  }

  const server = createServer((request, response) => {
    allowCors(request, response);
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'OPTIONS') return void response.writeHead(204).end();
    if (request.method === 'GET' && path === '/v1/models') {
      const model = { id: 'scripted-model', object: 'model', created: 0, owned_by: 'baton' };
      return sendJson(response, 200, { object: 'list', data: [model] });
    }
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      return void answerChat(request, response).catch((error: unknown) =>
        sendError(response, 500, `script failed: ${String(error)}`),
      );
    }
    sendError(response, 404, `no route for ${request.method} ${path}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  if (options.signal?.aborted) await close();
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    callCount: () => calls.length,
    setScript: (next) => void (script = next ?? defaultModelScript),
    setDelay: (ms) => void (delayMs = ms),
    close,
  };
}

interface Completion {
  id: string;
  created: number;
  model: string;
  content: string | null;
  toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function shapeCompletion(body: ChatRequestBody, reply: ModelReply, callIndex: number): Completion {
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: `call_${callIndex}_${index}`,
    type: 'function' as const,
    function: {
      name: call.name,
      arguments:
        typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
  const content = reply.content ?? (toolCalls.length > 0 ? null : '');
  // Without scripted usage, a rough deterministic estimate (4 characters a token) so budgets move.
  const estimate = (text: string) => Math.max(1, Math.ceil(text.length / 4));
  const usage = reply.usage ?? {
    prompt_tokens: estimate(JSON.stringify(body.messages)),
    completion_tokens: estimate((content ?? '') + JSON.stringify(toolCalls)),
  };
  return {
    id: `chatcmpl-scripted-${callIndex}`,
    created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'scripted-model',
    content,
    toolCalls,
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

const finishReason = (completion: Completion) =>
  completion.toolCalls.length > 0 ? 'tool_calls' : 'stop';

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

function sendError(response: ServerResponse, status: number, message: string): void {
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  sendJson(response, status, { error: { message, type, code: null, param: null } });
}

function sendCompletion(response: ServerResponse, completion: Completion): void {
  const { id, created, model, content, toolCalls, usage } = completion;
  const message = {
    role: 'assistant',
    content,
    refusal: null,
    ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
  };
  const choice = { index: 0, message, finish_reason: finishReason(completion), logprobs: null };
  sendJson(response, 200, {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [choice],
    usage,
  });
}

/** Streams like OpenAI: a role chunk, content in word-sized pieces, each tool call's name then its
 * arguments in two pieces, a finish chunk, the usage chunk if asked for, then `[DONE]`. */
function streamCompletion(
  response: ServerResponse,
  completion: Completion,
  includeUsage = false,
): void {
  const { id, created, model } = completion;
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (delta: object, finish: string | null = null) => {
    const chunk = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  send({ role: 'assistant', content: '' });
  for (const piece of completion.content?.match(/\S+\s*|\s+/g) ?? []) send({ content: piece });
  completion.toolCalls.forEach((call, index) => {
    const { name, arguments: text } = call.function;
    send({
      tool_calls: [{ index, id: call.id, type: 'function', function: { name, arguments: '' } }],
    });
    const middle = Math.ceil(text.length / 2);
    for (const part of [text.slice(0, middle), text.slice(middle)]) {
      if (part) send({ tool_calls: [{ index, function: { arguments: part } }] });
    }
  });
  send({}, finishReason(completion));
  if (includeUsage) {
    const chunk = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [],
      usage: completion.usage,
    };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  response.end('data: [DONE]\n\n');
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Lets any page call the server: the openai SDK's preflight asks for `authorization`,
 * `content-type` and several `x-stainless-*` headers, so whatever is asked for is allowed. */
function allowCors(request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('access-control-allow-origin', '*');
  response.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  const asked = request.headers['access-control-request-headers'];
  response.setHeader('access-control-allow-headers', asked ?? 'authorization, content-type');
  if (request.headers['access-control-request-private-network']) {
    response.setHeader('access-control-allow-private-network', 'true');
  }
  response.setHeader('access-control-max-age', '600');
}
