// The MCP servers the C++ MCP client is tested against: the official TypeScript SDK
// (@modelcontextprotocol/sdk, pinned by package-lock.json) serving Streamable HTTP on 127.0.0.1.
//
//   node mcp_peer.mjs [--port N]     # first stdout line: "listening on http://127.0.0.1:PORT"
//
// Endpoints (each MCP endpoint keeps stateful sessions, one SDK server + transport per session):
//   /mcp         "accounts": SSE responses, resumable (an event store; `poll` closes its stream
//                mid-call), tools whoami / lookup_orders / fail / slow / poll / picture / profile;
//                tools added at run time (POST /control/add-tool) send notifications/tools/list_changed
//   /mcp-paged   "catalog": JSON responses (enableJsonResponse), tools/list in pages of 2 (five tools,
//                `whoami` among them, so it clashes with /mcp), and `rpc_fail`, answered with a
//                JSON-RPC error
//   /broken      500 for every request
//
// Every MCP request needs `Authorization: Bearer token-<user>` (401 otherwise) and a session
// belongs to the user who opened it (another user's token on it is 403), so a client that shared
// a session between users fails loudly. Test control (JSON):
//   GET  /control/log              what happened: requests (method, JSON-RPC method, user, session,
//                                  protocol-version header), tool calls, cancellations, deletions
//   POST /control/reset            clears the log, the barrier and added tools
//   POST /control/expire-sessions  closes every session: their ids now get 404
//   POST /control/barrier {"count":N}  whoami calls wait until N of them are running (at most 10 s)
//   POST /control/delete-barrier {"count":N}  DELETEs wait until N of them have arrived (at most
//                                  10 s), then log `delete-released` with `together` true/false
//   POST /control/add-tool {"name":S}  registers tool S on every open /mcp session
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import {
    CallToolRequestSchema,
    ErrorCode,
    ListToolsRequestSchema,
    McpError,
    isInitializeRequest
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod/v4';

const args = process.argv.slice(2);
const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 0;

// --- test state ---------------------------------------------------------------------------------

let log = [];
let barrier = { count: 0, waiting: [] };
let deleteBarrier = { count: 0, waiting: [] };
let addedTools = [];
const record = entry => log.push({ time: Date.now(), ...entry });

function userOf(req) {
    const m = /^Bearer token-([A-Za-z0-9_-]{1,64})$/.exec(req.headers.authorization ?? '');
    return m ? m[1] : undefined;
}

const sleep = (ms, signal) =>
    new Promise(resolve => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
        });
    });

async function passBarrier() {
    if (barrier.count <= 1) return;
    await new Promise(resolve => {
        barrier.waiting.push(resolve);
        if (barrier.waiting.length >= barrier.count) {
            for (const w of barrier.waiting) w();
            barrier.waiting = [];
        }
        setTimeout(resolve, 10000);
    });
}

// Holds a DELETE until `deleteBarrier.count` DELETEs are waiting (released together) or 10 s passed.
async function passDeleteBarrier() {
    if (deleteBarrier.count <= 1) return;
    await new Promise(resolve => {
        const entry = {};
        const timer = setTimeout(() => {
            deleteBarrier.waiting = deleteBarrier.waiting.filter(w => w !== entry);
            record({ event: 'delete-released', together: false });
            resolve();
        }, 10000);
        entry.release = () => {
            clearTimeout(timer);
            resolve();
        };
        deleteBarrier.waiting.push(entry);
        if (deleteBarrier.waiting.length >= deleteBarrier.count) {
            record({ event: 'delete-released', together: true, count: deleteBarrier.waiting.length });
            for (const w of deleteBarrier.waiting) w.release();
            deleteBarrier.waiting = [];
        }
    });
}

const text = t => ({ content: [{ type: 'text', text: t }] });

// --- /mcp: the accounts server ------------------------------------------------------------------

const ORDERS = {
    alice: [{ id: 'A-1', status: 'shipped' }, { id: 'A-2', status: 'open' }],
    bob: [{ id: 'B-7', status: 'open' }]
};
// A 1x1 transparent PNG.
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function accountsServer() {
    const server = new McpServer({ name: 'accounts', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool('whoami', { description: 'Who the caller is, from their bearer token.' }, async extra => {
        const user = extra.authInfo?.clientId;
        record({ event: 'tool', server: 'accounts', tool: 'whoami', user, session: extra.sessionId });
        await passBarrier();
        return text(`You are ${user}.`);
    });
    server.registerTool(
        'lookup_orders',
        {
            description: "The orders of a user, optionally only those with a status.",
            inputSchema: {
                user_id: z.string().describe('Whose orders'),
                status: z.enum(['open', 'shipped']).optional().describe('Only orders with this status')
            }
        },
        async ({ user_id, status }, extra) => {
            record({ event: 'tool', server: 'accounts', tool: 'lookup_orders', user: extra.authInfo?.clientId, args: { user_id, status } });
            const orders = (ORDERS[user_id] ?? []).filter(o => !status || o.status === status);
            return { content: [{ type: 'text', text: JSON.stringify(orders) }] };
        }
    );
    server.registerTool('fail', { description: 'Always fails.' }, async extra => {
        record({ event: 'tool', server: 'accounts', tool: 'fail', user: extra.authInfo?.clientId });
        throw new Error('the ledger is closed for maintenance');
    });
    server.registerTool(
        'slow',
        { description: 'Takes its time; stops when cancelled.', inputSchema: { seconds: z.number().max(60) } },
        async ({ seconds }, extra) => {
            record({ event: 'tool', server: 'accounts', tool: 'slow', user: extra.authInfo?.clientId, requestId: extra.requestId });
            await sleep(seconds * 1000, extra.signal);
            if (extra.signal.aborted) {
                record({ event: 'tool-cancelled', tool: 'slow', requestId: extra.requestId, reason: String(extra.signal.reason ?? '') });
                return text('cancelled');
            }
            return text(`slept ${seconds} s`);
        }
    );
    server.registerTool('poll', { description: 'Closes its SSE stream mid-call, answers later.' }, async extra => {
        record({ event: 'tool', server: 'accounts', tool: 'poll', user: extra.authInfo?.clientId });
        await sleep(100);
        extra.closeSSEStream?.();
        await sleep(300);
        return text(`polled by ${extra.authInfo?.clientId}`);
    });
    server.registerTool('picture', { description: 'A picture and a caption.' }, async () => ({
        content: [
            { type: 'text', text: 'A tiny picture.' },
            { type: 'image', data: PIXEL, mimeType: 'image/png' }
        ]
    }));
    server.registerTool(
        'profile',
        {
            description: 'The caller profile as structured content.',
            outputSchema: { name: z.string(), plan: z.string() }
        },
        async extra => {
            const profile = { name: extra.authInfo?.clientId ?? 'nobody', plan: 'pro' };
            return { content: [{ type: 'text', text: JSON.stringify(profile) }], structuredContent: profile };
        }
    );
    for (const name of addedTools) addTool(server, name);
    return server;
}

function addTool(server, name) {
    server.registerTool(name, { description: `Added at run time (${name}).` }, async () => text(`${name} ran`));
}

// --- /mcp-paged: the catalog server (low-level Server: its own paging and errors) ---------------

const CATALOG = ['whoami', 'echo', 'alpha', 'beta', 'rpc_fail'].map(name => ({
    name,
    description: `catalog tool ${name}`,
    inputSchema: name === 'echo'
        ? { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }
        : { type: 'object', properties: {} }
}));
const PAGE = 2;

function catalogServer() {
    const server = new Server({ name: 'catalog', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
        const start = request.params?.cursor ? Number(request.params.cursor.replace('page-', '')) : 0;
        if (!Number.isInteger(start) || start < 0 || start >= CATALOG.length)
            throw new McpError(ErrorCode.InvalidParams, 'bad cursor');
        record({ event: 'list', server: 'catalog', cursor: request.params?.cursor ?? null, user: extra.authInfo?.clientId });
        const next = start + PAGE;
        return { tools: CATALOG.slice(start, next), ...(next < CATALOG.length ? { nextCursor: `page-${next}` } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const { name, arguments: a } = request.params;
        const user = extra.authInfo?.clientId;
        record({ event: 'tool', server: 'catalog', tool: name, user, args: a ?? {} });
        if (name === 'rpc_fail') throw new McpError(ErrorCode.InternalError, 'catalog backend unavailable');
        if (name === 'whoami') return text(`catalog says you are ${user}.`);
        if (name === 'echo') return text(`echo: ${a?.text ?? ''}`);
        if (CATALOG.some(t => t.name === name)) return text(`${name} ran`);
        throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
    });
    return server;
}

// --- HTTP -----------------------------------------------------------------------------------------

const app = createMcpExpressApp();
const sessions = new Map();  // session id -> { transport, server, user, endpoint }

function mcpEndpoint(path, makeServer, transportOptions) {
    app.all(path, async (req, res) => {
        const user = userOf(req);
        const sid = req.headers['mcp-session-id'];
        const body = req.body;
        record({
            event: 'request', endpoint: path, method: req.method, rpc: body?.method ?? null,
            id: body?.id ?? null, params: body?.params ?? null, user: user ?? null, session: sid ?? null,
            protocolVersion: req.headers['mcp-protocol-version'] ?? null,
            lastEventId: req.headers['last-event-id'] ?? null, accept: req.headers.accept ?? null
        });
        if (!user) {
            res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or bad bearer token' });
            return;
        }
        req.auth = { token: req.headers.authorization.slice(7), clientId: user, scopes: [] };
        if (sid) {
            const session = sessions.get(sid);
            if (!session || session.endpoint !== path) {
                res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
                return;
            }
            if (session.user !== user) {
                record({ event: 'foreign-token', session: sid, owner: session.user, user });
                res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: 'session belongs to another user' }, id: null });
                return;
            }
            if (req.method === 'DELETE') {
                record({ event: 'delete', session: sid, user });
                await passDeleteBarrier();
            }
            await session.transport.handleRequest(req, res, body);
            return;
        }
        if (req.method !== 'POST' || !isInitializeRequest(body)) {
            res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
            return;
        }
        const server = makeServer();
        const transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            ...transportOptions,
            onsessioninitialized: id => {
                sessions.set(id, { transport, server, user, endpoint: path });
                record({ event: 'session', endpoint: path, session: id, user });
            }
        });
        transport.onclose = () => {
            if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
    });
}

mcpEndpoint('/mcp', accountsServer, { eventStore: new InMemoryEventStore(), retryInterval: 200 });
mcpEndpoint('/mcp-paged', catalogServer, { enableJsonResponse: true });

app.all('/broken', (req, res) => {
    record({ event: 'request', endpoint: '/broken', method: req.method, rpc: req.body?.method ?? null, user: userOf(req) ?? null });
    res.status(500).json({ error: 'the server is on fire' });
});

app.get('/control/log', (req, res) => res.json(log));
app.post('/control/reset', (req, res) => {
    log = [];
    barrier = { count: 0, waiting: [] };
    deleteBarrier = { count: 0, waiting: [] };
    addedTools = [];
    res.json({ ok: true });
});
app.post('/control/expire-sessions', async (req, res) => {
    const all = [...sessions.values()];
    sessions.clear();
    for (const s of all) await s.transport.close().catch(() => {});
    record({ event: 'expired', count: all.length });
    res.json({ expired: all.length });
});
app.post('/control/barrier', (req, res) => {
    barrier = { count: Number(req.body?.count ?? 0), waiting: [] };
    res.json({ ok: true });
});
app.post('/control/delete-barrier', (req, res) => {
    deleteBarrier = { count: Number(req.body?.count ?? 0), waiting: [] };
    res.json({ ok: true });
});
app.post('/control/add-tool', (req, res) => {
    const name = String(req.body?.name ?? '');
    if (!/^[a-z_]{1,32}$/.test(name)) return res.status(400).json({ error: 'bad name' });
    addedTools.push(name);
    let notified = 0;
    for (const s of sessions.values()) {
        if (s.endpoint !== '/mcp') continue;
        addTool(s.server, name);  // the SDK sends notifications/tools/list_changed
        ++notified;
    }
    res.json({ sessions: notified });
});

const listener = app.listen(port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${listener.address().port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
        listener.close();
        process.exit(0);
    });
}
