// Browser test of the quickstart playground: the real page in the system Chromium (playwright-core,
// no downloaded browser) against the real quickstart server started on an ephemeral port.
//
//   node playground.spec.mjs PATH/TO/quickstart        (or QUICKSTART_BIN=...)
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), BROWSER_TEST_KEEP=1 keeps the temp dir.
// Exits 0 when every step passed, 1 with the failing step, the reason and the server's log otherwise.
// Every wait is bounded, and a watchdog ends the whole run after 90 s.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { chromium } from 'playwright-core';

const TOTAL_TIMEOUT_MS = 120_000;
const WAIT_MS = 10_000;
const binary = process.argv[2] || process.env.QUICKSTART_BIN;
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

if (!binary) {
  console.error('usage: node playground.spec.mjs PATH/TO/quickstart (or set QUICKSTART_BIN)');
  process.exit(2);
}

const started = Date.now();
let currentStep = 'start-up';
let server = null;
let serverExit = null;
const serverLog = [];
let context = null;
let page = null;
let workDir = null;
const pageErrors = [];

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

function step(name) {
  currentStep = name;
  log(`step: ${name}`);
}

class TestFailure extends Error {}

function check(condition, message) {
  if (!condition) throw new TestFailure(message);
}

async function cleanup() {
  if (context) await context.close().catch(() => {});
  context = null;
  if (server && serverExit === null) server.kill('SIGKILL');
  if (workDir && !process.env.BROWSER_TEST_KEEP) {
    // The screenshots are kept: remove only the browser profile.
    await rm(path.join(workDir, 'profile'), { recursive: true, force: true }).catch(() => {});
  }
}

async function fail(err) {
  console.error(`\nFAILED at step "${currentStep}": ${err && err.message ? err.message : err}`);
  if (!(err instanceof TestFailure) && err && err.stack) console.error(err.stack);
  if (pageErrors.length) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
  if (page && workDir) {
    const shot = path.join(workDir, 'failure.png');
    try {
      await page.screenshot({ path: shot, fullPage: true, timeout: 5000 });
      console.error(`failure screenshot: ${shot}`);
    } catch (_) { /* the page may be gone */ }
  }
  console.error(`server output (last 40 lines):\n  ${serverLog.slice(-40).join('\n  ') || '(none)'}`);
  await cleanup();
  process.exit(1);
}

const watchdog = setTimeout(() => {
  fail(new TestFailure(`the whole test took longer than ${TOTAL_TIMEOUT_MS / 1000} s`));
}, TOTAL_TIMEOUT_MS);

// ---- the server ------------------------------------------------------------------------------------

async function startServer() {
  // A fresh SQLite file per run: the history the test reloads comes from the real store.
  const dbDir = await mkdtemp(path.join(tmpdir(), 'chatkit-browser-db-'));
  return new Promise((resolve, reject) => {
    // The word delay is the default, given explicitly so that a CHATKIT_WORD_DELAY_MS in the
    // environment cannot make the reply too fast to watch it stream.
    server = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--word-delay-ms', '30',
                            '--db', path.join(dbDir, 'chatkit.db'), '--uploads-dir', path.join(dbDir, 'uploads')],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new TestFailure('no "listening on" line within 15 s')), 15_000);
    server.on('error', (err) => { clearTimeout(timer); reject(new TestFailure(`cannot start ${binary}: ${err.message}`)); });
    server.on('exit', (code, signal) => {
      serverExit = { code, signal };
      clearTimeout(timer);
      reject(new TestFailure(`the server exited early (code ${code}, signal ${signal})`));
    });
    readline.createInterface({ input: server.stderr }).on('line', (line) => serverLog.push(`stderr: ${line}`));
    let first = true;
    readline.createInterface({ input: server.stdout }).on('line', (line) => {
      serverLog.push(`stdout: ${line}`);
      if (!first) return;
      first = false;
      clearTimeout(timer);
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]);
      else reject(new TestFailure(`the first stdout line is not "listening on URL": ${JSON.stringify(line)}`));
    });
  });
}

function stopServer() {
  return new Promise((resolve, reject) => {
    if (serverExit) {
      resolve(serverExit);
      return;
    }
    const timer = setTimeout(() => reject(new TestFailure('the server did not stop within 10 s of SIGTERM')), 10_000);
    server.removeAllListeners('exit');
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      serverExit = { code, signal };
      resolve(serverExit);
    });
    server.kill('SIGTERM');
  });
}

async function waitForServerLog(pattern, what) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (serverLog.some((line) => pattern.test(line))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TestFailure(`the server did not log ${what} within ${WAIT_MS / 1000} s`);
}

// ---- page helpers ----------------------------------------------------------------------------------

/** The assistant/user messages in the view: [{role, status, id, text}]. */
function messages() {
  return page.$$eval('[data-testid="message"]', (nodes) => nodes.map((n) => ({
    role: n.dataset.role,
    status: n.dataset.status,
    id: n.dataset.itemId,
    text: (n.querySelector('[data-testid="message-text"]') || {}).textContent || '',
  })));
}

/** Waits until fn(messages, arg) in the page returns a truthy value, and returns it. */
async function waitForMessages(description, fn, arg, timeout = WAIT_MS) {
  try {
    const handle = await page.waitForFunction(([source, a]) => {
      const list = [...document.querySelectorAll('[data-testid="message"]')].map((n) => ({
        role: n.dataset.role,
        status: n.dataset.status,
        id: n.dataset.itemId,
        text: (n.querySelector('[data-testid="message-text"]') || {}).textContent || '',
      }));
      // eslint-disable-next-line no-new-func
      return new Function('list', 'arg', `return (${source})(list, arg);`)(list, a);
    }, [fn.toString(), arg], { timeout, polling: 10 });
    return await handle.jsonValue();
  } catch (err) {
    const now = await messages().catch(() => []);
    throw new TestFailure(`timed out waiting for ${description}; messages now: ${JSON.stringify(now).slice(0, 600)}`);
  }
}

async function waitVisible(testid, description, timeout = WAIT_MS) {
  try {
    await page.getByTestId(testid).first().waitFor({ state: 'visible', timeout });
  } catch (_) {
    throw new TestFailure(`timed out waiting for ${description} ([data-testid=${testid}] visible)`);
  }
}

async function textOf(testid) {
  return (await page.getByTestId(testid).first().textContent({ timeout: WAIT_MS })) || '';
}

async function threadTitles() {
  return page.$$eval('[data-testid="thread-item-title"]', (nodes) => nodes.map((n) => n.textContent));
}

async function waitForThreadTitles(description, predicate) {
  const deadline = Date.now() + WAIT_MS;
  let titles = [];
  while (Date.now() < deadline) {
    titles = await threadTitles();
    if (predicate(titles)) return titles;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new TestFailure(`timed out waiting for ${description}; thread list now: ${JSON.stringify(titles)}`);
}

/** Reloads the page without the #thread=... fragment (nothing open). */
async function reloadHome() {
  await page.evaluate(() => history.replaceState(null, '', '/'));
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
}

async function send(text) {
  await page.getByTestId('composer-input').fill(text, { timeout: WAIT_MS });
  await page.getByTestId('composer-input').press('Enter', { timeout: WAIT_MS });
}

/** The title the server derives from a first message (examples/quickstart/main.cpp, title_from). */
function expectedTitle(text) {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= 40) return flat;
  let cut = 40;
  const space = flat.lastIndexOf(' ', cut);
  if (space >= 20) cut = space;
  return `${flat.slice(0, cut)}\u2026`;
}

// ---- the test --------------------------------------------------------------------------------------

async function main() {
  step('start the quickstart server');
  const base = await startServer();
  log(`server at ${base}`);
  const health = await fetch(`${base}/healthz`);
  check(health.status === 200, `GET /healthz answered ${health.status}`);

  step('launch Chromium');
  workDir = await mkdtemp(path.join(tmpdir(), 'chatkit-browser-'));
  context = await chromium.launchPersistentContext(path.join(workDir, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));

  step('open the playground');
  const response = await page.goto(`${base}/`, { waitUntil: 'load', timeout: WAIT_MS });
  check(response && response.status() === 200, `GET / answered ${response && response.status()}`);
  await waitVisible('welcome', 'the welcome text');
  check((await textOf('thread-title')) === 'New chat', 'the header of a new chat is not "New chat"');
  check((await threadTitles()).length === 0, 'a fresh server lists threads');

  step('create a thread by sending a message; watch the reply stream');
  const first = 'Hello from the browser test: please echo this sentence back to me one word at a time, '
    + 'slowly enough that the test can watch the reply grow before it is complete';
  const firstReply = `You said: ${first}`;
  await send(first);
  // An intermediate state: the reply is streaming and holds a few words, not all of them.
  const partial = await waitForMessages('a partially streamed reply', (list, expected) => {
    const last = list.filter((m) => m.role === 'assistant').pop();
    if (!last || last.status !== 'streaming') return false;
    const words = last.text.trim().split(/\s+/).filter(Boolean).length;
    return words >= 3 && last.text !== expected ? last.text : false;
  }, firstReply);
  check(firstReply.startsWith(partial), `the partial reply ${JSON.stringify(partial)} is not a prefix of the echo`);
  log(`partial reply: ${JSON.stringify(partial)}`);
  // It grows...
  await waitForMessages('the reply to grow', (list, length) => {
    const last = list.filter((m) => m.role === 'assistant').pop();
    return last && last.text.length > length;
  }, partial.length);
  // ...and ends with the whole echo.
  await waitForMessages('the complete reply', (list, expected) => {
    const last = list.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'done' && last.text === expected;
  }, firstReply);
  let list = await messages();
  check(list.length === 2 && list[0].role === 'user' && list[0].text === first,
    `expected the user message then the reply, got ${JSON.stringify(list)}`);
  check(!list[0].id.startsWith('pending_'), 'the user message was not replaced by the server\'s item');
  const title = expectedTitle(first);
  await page.waitForFunction((t) => document.querySelector('[data-testid="thread-title"]').textContent === t, title,
    { timeout: WAIT_MS }).catch(() => { throw new TestFailure(`the header title did not become ${JSON.stringify(title)}`); });
  await waitForThreadTitles('the new thread in the list', (titles) => titles.length === 1 && titles[0] === title);
  check(/#thread=thr_/.test(page.url()), `the URL does not name the thread: ${page.url()}`);

  step('thumbs up on the reply (items.feedback)');
  await page.locator('[data-role="assistant"]').last().getByTestId('feedback-positive').click();
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('[data-role="assistant"] [data-testid="feedback-positive"]')].pop();
    return b && b.getAttribute('aria-pressed') === 'true';
  }, null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the thumbs-up button is not pressed'); });
  await waitForServerLog(/feedback: user=local-user thread=thr_\S+ items=\S+ kind=positive/, 'the feedback');

  step('a second message in the same thread, then regenerate its reply');
  const second = 'And a second, shorter message';
  const secondReply = `You said: ${second}`;
  await send(second);
  await waitForMessages('the second reply', (l, expected) => l.length === 4 && l[3].status === 'done' && l[3].text === expected,
    secondReply);
  const before = (await messages())[3].id;
  await page.getByTestId('regenerate').click();
  await waitForMessages('the regenerated reply', (l, [expected, old]) => l.length === 4 && l[3].status === 'done' &&
    l[3].text === expected && l[3].id !== old, [secondReply, before]);

  step('reload, open the thread from the list, see the history');
  await reloadHome();
  await waitVisible('welcome', 'the welcome text after reload');
  await waitForThreadTitles('the thread in the list after reload', (titles) => titles.length === 1 && titles[0] === title);
  await page.getByTestId('thread-item').first().click();
  const history = await waitForMessages('the history', (l) => (l.length === 4 ? l : false));
  const summary = history.map((m) => `${m.role}:${m.text}`);
  check(JSON.stringify(summary) === JSON.stringify([`user:${first}`, `assistant:${firstReply}`, `user:${second}`,
    `assistant:${secondReply}`]), `the history is ${JSON.stringify(summary)}`);
  check(history.every((m) => m.status === 'done'), 'history messages are not all done');

  step('rename the thread (threads.update)');
  const renamed = 'Renamed by the browser test';
  await page.getByTestId('rename-thread').click();
  await page.getByTestId('rename-input').fill(renamed);
  await page.getByTestId('rename-input').press('Enter');
  await page.waitForFunction((t) => {
    const h = document.querySelector('[data-testid="thread-title"]');
    return h && !h.hidden && h.textContent === t;
  }, renamed, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the header did not show the new title'); });
  await waitForThreadTitles('the new title in the list', (titles) => titles[0] === renamed);

  step('an error event allowing retry: shown, then Retry regenerates the reply');
  // The real answer is fetched, cut after its first word and closed with an `error` event.
  const third = 'A third message that meets a simulated failure';
  const thirdReply = `You said: ${third}`;
  await page.route('**/chatkit', async (route) => {
    const body = route.request().postDataJSON();
    if (!body || body.type !== 'threads.add_user_message') return route.continue();
    const real = await route.fetch();
    const frames = (await real.text()).split('\n\n').filter(Boolean);
    const cut = frames.findIndex((frame) => frame.includes('"assistant_message.content_part.text_delta"'));
    const kept = frames.slice(0, cut + 1);
    kept.push(`data: ${JSON.stringify({ type: 'error', code: 'custom', message: 'Simulated failure', allow_retry: true })}`);
    return route.fulfill({
      status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body: `${kept.join('\n\n')}\n\n`,
    });
  });
  await send(third);
  await waitVisible('error-retry', 'the retry button of the error banner');
  const banner = await textOf('error-banner');
  check(banner.includes('Simulated failure'), `the error banner says ${JSON.stringify(banner)}`);
  await waitForMessages('the interrupted reply', (l) => l.length === 6 && l[5].status === 'interrupted');
  await page.unroute('**/chatkit');
  await page.getByTestId('error-retry').click();
  await waitForMessages('the regenerated reply after the error', (l, expected) => l.length === 6 &&
    l[5].status === 'done' && l[5].text === expected, thirdReply);
  check((await page.getByTestId('error-banner').count()) === 0, 'the error banner is still shown after the retry');

  step('reload in the middle of a long reply: it streams on after the reload, and the stored reply is whole');
  await page.getByTestId('new-thread').click();
  await waitVisible('welcome', 'a new chat');
  const reloadWords = Array.from({ length: 200 }, (_, i) => `r${i + 1}`);
  const reloadMessage = `Reload message: ${reloadWords.join(' ')}`;
  const reloadReply = `You said: ${reloadMessage}`;
  const lastAssistant = (l) => l.filter((m) => m.role === 'assistant').pop();
  await send(reloadMessage);
  await waitForMessages('the reply to stream 20 words', (l) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'streaming' && /\br20\b/.test(last.text);
  });
  check(/#thread=thr_/.test(page.url()), 'the streaming thread is not in the URL');
  const beforeReload = lastAssistant(await messages()).text;
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  // The server kept writing the reply (--on-disconnect continue); the page resumes the run.
  await waitForMessages('the reply streaming on after the reload', (l) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'streaming' && /\br60\b/.test(last.text);
  });
  await waitForMessages('the whole reply after the reload', (l, expected) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'done' && last.text === expected;
  }, reloadReply, 20_000);
  check(beforeReload.length < reloadReply.length, 'the reply was already whole before the reload');
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  await waitForMessages('the stored reply, whole', (l, expected) => l.length === 2 && l[1].status === 'done' &&
    l[1].text === expected, reloadReply);
  await page.getByTestId('delete-thread').click();  // the steps below count the threads
  await page.getByTestId('delete-confirm').click();
  await waitForThreadTitles('the reload thread deleted', (titles) => titles.length === 1 && titles[0] === renamed);

  step('stop a long reply midway (POST /chatkit/runs/{id}/cancel; the server keeps the partial reply)');
  await page.getByTestId('new-thread').click();
  await waitVisible('welcome', 'a new chat');
  const words = Array.from({ length: 400 }, (_, i) => `w${i + 1}`);
  const long = `Long message: ${words.join(' ')}`;
  const longReply = `You said: ${long}`;
  await send(long);
  await waitForMessages('the long reply to stream 25 words', (l) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'streaming' && /\bw25\b/.test(last.text);
  });
  await page.getByTestId('stop').click();
  const shown = await waitForMessages('the stopped reply', (l) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'stopped' ? last.text : false;
  });
  check(longReply.startsWith(shown) && shown.length < longReply.length,
    `the stopped reply is not a strict prefix of the echo: ${JSON.stringify(shown.slice(-80))}`);
  await waitVisible('retry', 'the retry button after stopping');
  const stoppedUrl = page.url();
  check(/#thread=thr_/.test(stoppedUrl), 'the long thread is not in the URL');
  // The cancel request answers once handle_stream_cancelled ran; poll with reloads all the same.
  let saved = null;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && saved === null) {
    await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
    const l = await waitForMessages('the long thread after reload', (m) => (m.length >= 1 ? m : false));
    const assistant = l.filter((m) => m.role === 'assistant');
    if (assistant.length === 1) saved = assistant[0].text;
    else await new Promise((r) => setTimeout(r, 200));
  }
  check(saved !== null, 'after reload the thread has no saved partial reply');
  check(longReply.startsWith(saved) && saved.length < longReply.length,
    `the saved reply is not a strict prefix of the echo (${saved.length} of ${longReply.length} characters)`);
  check(saved.length >= shown.length, `the saved reply (${saved.length}) is shorter than what was shown (${shown.length})`);
  log(`saved partial reply: ${saved.length} of ${longReply.length} characters`);
  // The run really ended: a later reload shows the same text, not a completed reply.
  await new Promise((r) => setTimeout(r, 300));
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  const again = await waitForMessages('the long thread again', (m) => (m.length === 2 ? m : false));
  check(again[1].text === saved, 'the saved partial reply changed after the stop');

  step('an error from the server is shown (unknown thread)');
  await page.goto(`${base}/#thread=thr_does_not_exist`, { waitUntil: 'load', timeout: WAIT_MS });
  await waitVisible('error-banner', 'the error banner');
  const errorText = await textOf('error-banner');
  check(/not found/i.test(errorText), `the error banner says ${JSON.stringify(errorText)}`);

  step('delete the long thread (threads.delete)');
  await page.goto(stoppedUrl, { waitUntil: 'load', timeout: WAIT_MS });
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  await waitForMessages('the long thread', (m) => m.length === 2);
  await waitForThreadTitles('both threads in the list', (titles) => titles.length === 2);
  await page.getByTestId('delete-thread').click();
  await page.getByTestId('delete-confirm').click();
  await waitForThreadTitles('the deleted thread gone from the list', (titles) => titles.length === 1 && titles[0] === renamed);
  check((await textOf('thread-title')) === 'New chat', 'deleting the open thread did not return to a new chat');
  await reloadHome();
  await waitForThreadTitles('only the renamed thread after reload', (titles) => titles.length === 1 && titles[0] === renamed);

  step('screenshot');
  await page.getByTestId('thread-item').first().click();
  await waitForMessages('the renamed thread', (m) => m.length === 6);
  await page.getByTestId('composer-input').fill('Try a long message, then press Stop');
  const shot = path.join(workDir, 'playground.png');
  await page.screenshot({ path: shot, timeout: WAIT_MS });
  log(`screenshot: ${shot}`);

  step('attach an image: attachments.create, then the upload to its descriptor');
  await page.getByTestId('new-thread').click();
  await waitVisible('welcome', 'a new chat for the widget');
  // A real 2x2 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==', 'base64');
  await page.getByTestId('file-input').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => {
    const chip = document.querySelector('[data-testid="pending-attachment"]');
    return chip && chip.dataset.uploading === 'false';
  }, null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the image upload did not finish'); });
  // A wrong type is refused by the server (415) and shown.
  await page.getByTestId('file-input').setInputFiles({ name: 'evil.html', mimeType: 'text/html', buffer: Buffer.from('<b>x</b>') });
  await waitVisible('error-banner', 'the banner for a refused upload');
  const refused = await textOf('error-banner');
  check(/not accepted/i.test(refused), `the refused upload banner says ${JSON.stringify(refused)}`);
  check((await page.getByTestId('pending-attachment').count()) === 1, 'the refused file stayed in the composer');

  step('send it with a message asking for a widget; see the image and the widget');
  await send('Show me a widget please');
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-role="user"] [data-testid="attachment-image"]');
    return img && img.complete && img.naturalWidth === 2;
  }, null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the user message does not show the uploaded image'); });
  await waitVisible('widget', 'the widget');
  const widgetText = await textOf('widget');
  check(widgetText.includes('Widget demo') && widgetText.includes('pressed 0 times'), `the widget shows ${JSON.stringify(widgetText)}`);

  step('press the widget\'s button (threads.custom_action) and see the server\'s answer');
  const idle = () => page.waitForFunction(() => document.querySelector('[data-testid="composer"]').dataset.busy === 'false',
    null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the stream did not end'); });
  await idle();
  await page.getByTestId('widget-button').filter({ hasText: 'Say hello' }).click();
  await waitForMessages('the answer to the button', (l) => {
    const last = l.filter((m) => m.role === 'assistant').pop();
    return last && last.status === 'done' && /^Hello local-user! The server received your button press/.test(last.text);
  });
  await idle();
  await page.getByTestId('widget-button').filter({ hasText: 'Count' }).click();
  await page.waitForFunction(() => {
    const w = document.querySelector('[data-testid="widget"]');
    return w && w.textContent.includes('pressed 1 times');
  }, null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the widget was not replaced by the counted one'); });
  // The history keeps the image, the updated widget and the answer.
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  await waitVisible('widget', 'the widget after reload');
  check((await textOf('widget')).includes('pressed 1 times'), 'the saved widget is not the updated one');
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="attachment-image"]');
    return img && img.complete && img.naturalWidth === 2;
  }, null, { timeout: WAIT_MS }).catch(() => { throw new TestFailure('the image is not shown after reload'); });

  step('another user cannot read the image');
  const attachmentUrl = await page.evaluate(async (url) => {
    const threads = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'threads.list', params: { limit: 1, order: 'desc' } }) }).then((r) => r.json());
    const items = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'items.list', params: { thread_id: threads.data[0].id, limit: 10, order: 'asc' } }) }).then((r) => r.json());
    const user = items.data.find((i) => i.type === 'user_message');
    return user.attachments[0].preview_url;
  }, `${base}/chatkit`);
  const own = await fetch(attachmentUrl);
  check(own.status === 200 && (await own.arrayBuffer()).byteLength === png.length, `the owner's preview answered ${own.status}`);
  const other = await fetch(attachmentUrl, { headers: { 'X-User-Id': 'someone-else' } });
  check(other.status === 404, `another user's preview answered ${other.status}`);

  check(pageErrors.length === 0, `the page threw: ${pageErrors.join('; ')}`);

  step('stop the server (SIGTERM, expect exit status 0)');
  await context.close();
  context = null;
  const exit = await stopServer();
  check(exit.code === 0, `the server exited with code ${exit.code} signal ${exit.signal}`);
  await waitForServerLog(/quickstart: stopped/, 'its clean stop');

  await cleanup();
  clearTimeout(watchdog);
  log('browser test passed');
  console.log('1 passed, 0 failed');
}

main().catch(fail);
