// ChatKit playground: a small client of the ChatKit protocol (PROTOCOL.md §1, §4, §5) in plain
// JavaScript. Every operation is a POST of {"type", "params"} to the ChatKit endpoint; streaming
// operations answer with Server-Sent Events (`data: <json>\n\n`), read with fetch() and a stream reader.
// This file holds the page's state and behaviour; playground-lib.js (loaded first) the stateless parts:
// DOM helpers, formatting, the protocol client and the widget renderer.
//
// Server data is only ever put in the page with textContent / attributes, never as HTML.
'use strict';

(() => {
  const ENDPOINT = new URL('chatkit', document.baseURI).pathname;  // "/chatkit" when served at "/"
  const PAGE_SIZE = 20;
  const USER_KEY = 'chatkit-playground.user';

  // ---------------------------------------------------------------------------------------------
  // DOM helpers, formatting, the protocol client and the widget renderer (playground-lib.js)

  const {
    h, icon, shortTime, threadTitle, userText, safeUrl, ApiError, createClient, createWidgetRenderer,
  } = window.ChatKitPlayground;

  const $ = (id) => document.getElementById(id);
  const ui = {
    app: $('app'),
    sidebar: $('sidebar'),
    sidebarToggle: $('sidebar-toggle'),
    newThread: $('new-thread'),
    threadList: $('thread-list'),
    threadEmpty: $('thread-empty'),
    threadListMore: $('thread-list-more'),
    userId: $('user-id'),
    title: $('thread-title'),
    headActions: $('head-actions'),
    renameButton: $('rename-thread'),
    renameForm: $('rename-form'),
    renameInput: $('rename-input'),
    renameCancel: $('rename-cancel'),
    deleteButton: $('delete-thread'),
    deleteDialog: $('delete-dialog'),
    banners: $('banners'),
    conversation: $('conversation'),
    loadOlder: $('load-older'),
    welcome: $('welcome'),
    log: $('log'),
    messages: $('messages'),
    progress: $('progress'),
    composer: $('composer'),
    input: $('composer-input'),
    send: $('send'),
    stop: $('stop'),
    retry: $('retry'),
    attach: $('attach'),
    fileInput: $('file-input'),
    pendingAttachments: $('pending-attachments'),
  };

  // ---------------------------------------------------------------------------------------------
  // State

  const state = {
    userId: localStorage.getItem(USER_KEY) || '',
    threads: [],            // client views of threads, newest first
    threadsAfter: null,     // threads.list cursor
    threadsHasMore: false,
    thread: null,           // the open thread (without items), or null for a new chat
    entries: [],            // [{item, status: 'pending' | 'streaming' | 'done' | 'stopped' | 'interrupted'}] in display order
    olderAfter: null,       // items.list (desc) cursor for earlier messages
    hasOlder: false,
    run: null,              // the running stream: {controller, allowCancel, stopped, detached}
    retryOffered: false,    // the last turn ended badly (stopped, error, dropped): offer a retry
    feedback: new Map(),    // item id -> 'positive' | 'negative'
    attachments: [],        // uploaded attachments waiting for the next message: [{attachment, uploading}]
    previews: new Map(),    // attachment id -> object URL of its fetched preview
  };

  // ---------------------------------------------------------------------------------------------
  // The protocol client

  function requestHeaders() {
    const headers = { 'Content-Type': 'application/json' };
    if (state.userId) headers['X-User-Id'] = state.userId;
    return headers;
  }

  // call(type, params) resolves to a JSON result; stream(type, params, onEvent, signal) calls onEvent
  // for each event of a streamed answer.
  const { call, stream, resume, cancelRun } = createClient(ENDPOINT, requestHeaders);

  // ---------------------------------------------------------------------------------------------
  // Banners (errors, notices) and the toast

  function clearBanners() {
    ui.banners.replaceChildren();
  }

  function banner(kind, { title, message, testid, retry }) {
    const node = h('div', {
      className: `banner banner-${kind}`, role: kind === 'error' || kind === 'danger' ? 'alert' : 'status',
      dataset: { testid, level: kind },
    });
    const text = h('div', { className: 'banner-text' });
    if (title) text.append(h('strong', { className: 'banner-title' }, title));
    text.append(h('span', { dataset: { testid: `${testid}-message` } }, message));
    node.append(text);
    if (retry) {
      node.append(h('button', {
        type: 'button', className: 'btn btn-small btn-secondary', dataset: { testid: 'error-retry' },
        onclick: () => { node.remove(); retryLast(); },
      }, icon('retry'), 'Retry'));
    }
    node.append(h('button', {
      type: 'button', className: 'btn btn-icon btn-small', 'aria-label': 'Dismiss', title: 'Dismiss',
      dataset: { testid: `${testid}-dismiss` }, onclick: () => node.remove(),
    }, icon('close')));
    ui.banners.append(node);
    return node;
  }

  function showError(err, { retry = false } = {}) {
    const message = err instanceof ApiError || (err && err.message) ? err.message : String(err);
    const title = err && err.code && err.code !== 'network' && err.status ? `Error ${err.status} (${err.code})` : 'Error';
    banner('error', { title, message, testid: 'error-banner', retry });
  }

  let toastTimer = null;
  function toast(message) {
    let node = document.querySelector('.toast');
    if (!node) {
      node = h('div', { className: 'toast', role: 'status', dataset: { testid: 'toast' } });
      document.body.append(node);
    }
    node.textContent = message;
    node.classList.add('toast-visible');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => node.classList.remove('toast-visible'), 2200);
  }

  // ---------------------------------------------------------------------------------------------
  // The thread list

  function renderThreadList() {
    const current = state.thread && state.thread.id;
    ui.threadList.replaceChildren(...state.threads.map((thread) => {
      const active = thread.id === current;
      return h('li', {},
        h('button', {
          type: 'button', className: 'thread-link', 'aria-current': active ? 'page' : null,
          dataset: { testid: 'thread-item', threadId: thread.id },
          onclick: () => {
            closeSidebar();
            if (!(active && state.run)) openThread(thread.id);
          },
        },
        h('span', { className: 'thread-link-title', dataset: { testid: 'thread-item-title' } }, threadTitle(thread)),
        h('span', { className: 'thread-link-date' }, shortTime(thread.created_at))));
    }));
    ui.threadEmpty.hidden = state.threads.length > 0;
    ui.threadListMore.hidden = !state.threadsHasMore;
  }

  async function loadThreads({ more = false } = {}) {
    const params = { limit: PAGE_SIZE, order: 'desc' };
    if (more && state.threadsAfter) params.after = state.threadsAfter;
    ui.threadListMore.disabled = true;
    try {
      const page = await call('threads.list', params);
      const known = new Set(more ? state.threads.map((t) => t.id) : []);
      const fresh = (page.data || []).filter((t) => !known.has(t.id));
      state.threads = more ? state.threads.concat(fresh) : fresh;
      state.threadsHasMore = !!page.has_more;
      state.threadsAfter = page.after || null;
      renderThreadList();
    } catch (err) {
      showError(err);
    } finally {
      ui.threadListMore.disabled = false;
    }
  }

  /** Updates a thread in the list; a thread not listed yet is added first when `insert` is set. */
  function upsertThread(thread, { insert = true } = {}) {
    const meta = { ...thread };
    delete meta.items;
    const index = state.threads.findIndex((t) => t.id === meta.id);
    if (index >= 0) state.threads[index] = { ...state.threads[index], ...meta };
    else if (insert) state.threads.unshift(meta);
    renderThreadList();
  }

  // ---------------------------------------------------------------------------------------------
  // The open thread: header

  function renderHeader() {
    const open = !!state.thread;
    ui.title.textContent = open ? threadTitle(state.thread) : 'New chat';
    ui.title.dataset.threadId = open ? state.thread.id : '';
    ui.headActions.hidden = !open;
    document.title = open ? `${threadTitle(state.thread)} · ChatKit playground` : 'ChatKit playground';
  }

  function setThread(thread) {
    if (thread) {
      const meta = { ...thread };
      delete meta.items;
      state.thread = meta;
    } else {
      state.thread = null;
    }
    const hash = state.thread ? `#thread=${encodeURIComponent(state.thread.id)}` : '';
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
    renderHeader();
    renderThreadList();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  function isNearBottom() {
    const c = ui.conversation;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.conversation.scrollTop = ui.conversation.scrollHeight;
  }

  function entryIndex(id) {
    return state.entries.findIndex((e) => e.item.id === id);
  }

  function lastUserMessage() {
    for (let i = state.entries.length - 1; i >= 0; --i) {
      const { item, status } = state.entries[i];
      if (item.type === 'user_message' && status !== 'pending') return item;
    }
    return null;
  }

  function lastAssistantId() {
    for (let i = state.entries.length - 1; i >= 0; --i)
      if (state.entries[i].item.type === 'assistant_message') return state.entries[i].item.id;
    return null;
  }

  function renderSources(parts) {
    const seen = new Set();
    const list = h('ul', { className: 'sources', 'aria-label': 'Sources' });
    for (const part of parts) {
      for (const annotation of part.annotations || []) {
        const source = annotation && annotation.source;
        if (!source) continue;
        const label = source.title || source.filename || source.label || source.url || 'source';
        const key = `${source.type}|${label}|${source.url || ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const href = source.type === 'url' ? safeUrl(source.url) : null;
        list.append(h('li', {},
          href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', className: 'source' }, icon('link'), label)
            : h('span', { className: 'source' }, label)));
      }
    }
    return list.childElementCount ? list : null;
  }

  function feedbackButton(item, kind) {
    const chosen = state.feedback.get(item.id) === kind;
    return h('button', {
      type: 'button', className: 'btn btn-icon btn-small feedback', 'aria-pressed': chosen ? 'true' : 'false',
      'aria-label': kind === 'positive' ? 'Good reply' : 'Bad reply', title: kind === 'positive' ? 'Good reply' : 'Bad reply',
      dataset: { testid: `feedback-${kind}` }, onclick: () => sendFeedback(item.id, kind),
    }, icon(kind === 'positive' ? 'up' : 'down'));
  }

  function renderAssistant(entry) {
    const { item, status } = entry;
    const parts = item.content || [];
    const text = h('div', { className: 'msg-text', dataset: { testid: 'message-text' } },
      ...parts.map((part) => h('p', { className: 'part' }, (part && part.text) || '')));
    const body = h('div', { className: 'msg-body' }, text, renderSources(parts));
    if (status === 'stopped') {
      body.append(h('p', { className: 'msg-note', dataset: { testid: 'message-stopped' } }, 'Stopped'));
    } else if (status === 'interrupted') {
      body.append(h('p', { className: 'msg-note', dataset: { testid: 'message-interrupted' } }, 'Interrupted (not saved)'));
    }
    if (status === 'done' || status === 'stopped') {
      const actions = h('div', { className: 'msg-actions' },
        feedbackButton(item, 'positive'), feedbackButton(item, 'negative'),
        h('button', {
          type: 'button', className: 'btn btn-icon btn-small', 'aria-label': 'Copy', title: 'Copy',
          onclick: () => copyText(parts.map((p) => p.text || '').join('\n\n')),
        }, icon('copy')));
      if (item.id === lastAssistantId() && !state.run && lastUserMessage()) {
        actions.append(h('button', {
          type: 'button', className: 'btn btn-icon btn-small', 'aria-label': 'Regenerate', title: 'Regenerate',
          dataset: { testid: 'regenerate' }, onclick: () => retryLast(),
        }, icon('retry')));
      }
      actions.append(h('time', { className: 'msg-time', datetime: item.created_at }, shortTime(item.created_at)));
      body.append(actions);
    }
    return [h('div', { className: 'avatar', 'aria-hidden': 'true' }, 'AI'), body];
  }

  // ---------------------------------------------------------------------------------------------
  // Widgets (PROTOCOL.md §8): their actions; rendering is in playground-lib.js

  /** A widget node's action config -> the Action sent to the server ({type, payload}). */
  function actionOf(config) {
    if (!config || typeof config.type !== 'string') return null;
    const action = { type: config.type };
    if (config.payload !== undefined && config.payload !== null) action.payload = config.payload;
    return action;
  }

  /** Sends a widget's action (threads.custom_action) and shows the streamed answer. */
  function runAction(item, config) {
    const action = actionOf(config);
    if (!action || !state.thread || state.run) return;
    if (config.handler === 'client') {
      console.info('playground: client action', action);
      return;
    }
    clearBanners();
    runStream('threads.custom_action', { thread_id: state.thread.id, item_id: item.id, action });
  }

  // renderWidget(item) and applyWidgetDelta(node, id, delta); buttons and list items run actions.
  const { renderWidget, applyWidgetDelta } = createWidgetRenderer(runAction);

  function renderOther(item) {
    const lines = [];
    let label = item.type.replace(/_/g, ' ');
    switch (item.type) {
      case 'client_tool_call':
        label = `Client tool call: ${item.name} (${item.status || 'pending'})`;
        break;
      case 'workflow':
        label = item.workflow && item.workflow.type === 'reasoning' ? 'Reasoning' : 'Workflow';
        for (const task of (item.workflow && item.workflow.tasks) || [])
          lines.push([task.title, task.content].filter(Boolean).join(': ') || task.type);
        break;
      case 'task':
        label = 'Task';
        if (item.task) lines.push([item.task.title, item.task.content].filter(Boolean).join(': ') || item.task.type);
        break;
      case 'structured_input':
        label = `Questions (${item.status || 'pending'})`;
        for (const input of item.inputs || []) lines.push(input.question);
        break;
      case 'generated_image':
        label = 'Generated image';
        break;
      case 'widget':
        return [renderWidget(item)];
      default:
        break;
    }
    return [h('div', { className: 'card' },
      h('p', { className: 'card-label' }, label),
      lines.length ? h('ul', { className: 'card-lines' }, ...lines.map((l) => h('li', {}, l))) : null)];
  }

  function renderEntry(entry) {
    const { item, status } = entry;
    if (item.type === 'end_of_turn') return null;
    const role = item.type === 'user_message' ? 'user' : item.type === 'assistant_message' ? 'assistant' : 'other';
    const node = h('li', {
      className: `msg msg-${role}`,
      dataset: { testid: 'message', role, itemId: item.id, status },
    });
    if (role === 'user') {
      const bubble = h('div', { className: 'bubble' });
      if (item.quoted_text) bubble.append(h('blockquote', { className: 'quote' }, item.quoted_text));
      bubble.append(h('p', { className: 'msg-text', dataset: { testid: 'message-text' } }, userText(item)));
      for (const a of item.attachments || []) bubble.append(renderAttachment(a));
      node.append(bubble);
    } else if (role === 'assistant') {
      node.append(...renderAssistant(entry));
    } else {
      node.append(...renderOther(item));
    }
    return node;
  }

  function renderMessages() {
    const follow = isNearBottom();
    const top = ui.conversation.scrollTop;
    const nodes = state.entries.map(renderEntry).filter(Boolean);
    ui.messages.replaceChildren(...nodes);
    ui.welcome.hidden = state.entries.length > 0;
    ui.loadOlder.hidden = !state.hasOlder;
    renderControls();
    if (follow) scrollToBottom();
    else ui.conversation.scrollTop = top;
  }

  /** Re-renders one entry in place (or appends it). */
  function renderOne(entry) {
    const follow = isNearBottom();
    const old = ui.messages.querySelector(`[data-item-id="${CSS.escape(entry.item.id)}"]`);
    const fresh = renderEntry(entry);
    if (old && fresh) old.replaceWith(fresh);
    else if (old) old.remove();
    else if (fresh) ui.messages.append(fresh);
    ui.welcome.hidden = state.entries.length > 0;
    if (follow) scrollToBottom();
  }

  function upsertEntry(item, status) {
    const index = entryIndex(item.id);
    if (index >= 0) state.entries[index] = { item, status };
    else state.entries.push({ item, status });
    renderOne(state.entries[index >= 0 ? index : state.entries.length - 1]);
  }

  function removeEntry(id) {
    const index = entryIndex(id);
    if (index < 0) return;
    state.entries.splice(index, 1);
    const node = ui.messages.querySelector(`[data-item-id="${CSS.escape(id)}"]`);
    if (node) node.remove();
  }

  /** Applies a ThreadItemUpdate (PROTOCOL.md §5.2) to the item in the view. */
  function applyUpdate(itemId, update) {
    const index = entryIndex(itemId);
    if (index < 0 || !update) return;
    const entry = state.entries[index];
    const item = entry.item;
    if (item.type === 'assistant_message' && update.type.startsWith('assistant_message.')) {
      item.content = item.content || [];
      const i = update.content_index || 0;
      while (item.content.length <= i) item.content.push({ annotations: [], text: '', type: 'output_text' });
      const part = item.content[i];
      switch (update.type) {
        case 'assistant_message.content_part.added':
        case 'assistant_message.content_part.done':
          item.content[i] = { annotations: [], ...update.content };
          break;
        case 'assistant_message.content_part.text_delta':
          part.text = (part.text || '') + (update.delta || '');
          break;
        case 'assistant_message.content_part.annotation_added': {
          part.annotations = part.annotations || [];
          const at = update.annotation_index;
          if (Number.isInteger(at) && at <= part.annotations.length) part.annotations.splice(at, 0, update.annotation);
          else part.annotations.push(update.annotation);
          break;
        }
        default:
          break;
      }
    } else if (item.type === 'workflow' && item.workflow) {
      item.workflow.tasks = item.workflow.tasks || [];
      if (update.type === 'workflow.task.added') item.workflow.tasks.push(update.task);
      else if (update.type === 'workflow.task.updated') item.workflow.tasks[update.task_index] = update.task;
    } else if (item.type === 'generated_image' && update.type === 'generated_image.updated') {
      item.image = update.image;
    } else if (item.type === 'widget' && update.type === 'widget.root.updated') {
      item.widget = update.widget;
    } else if (item.type === 'widget' && update.type === 'widget.streaming_text.value_delta') {
      applyWidgetDelta(item.widget, update.component_id, update.delta || '');
    }
    renderOne(entry);
  }

  // ---------------------------------------------------------------------------------------------
  // Controls (send / stop / retry) and the typing indicator

  function renderControls() {
    const run = state.run;
    const busy = !!run;
    // While a reply streams, Stop replaces Send (a disabled Send when the stream cannot be cancelled).
    ui.send.hidden = busy && run.allowCancel;
    ui.send.disabled = busy;
    ui.stop.hidden = !busy || !run.allowCancel;
    ui.stop.disabled = busy && run.stopped;
    ui.retry.hidden = busy || !state.retryOffered || !state.thread || !lastUserMessage();
    ui.composer.dataset.busy = busy ? 'true' : 'false';
    // Screen readers announce the reply once it is complete, not every streamed word.
    ui.log.setAttribute('aria-busy', busy ? 'true' : 'false');
    const streaming = state.entries.some((e) => e.status === 'streaming');
    ui.progress.hidden = !busy || streaming;
  }

  function showProgress(text) {
    ui.progress.replaceChildren(h('span', { className: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
      h('span', { dataset: { testid: 'progress-text' } }, text || 'Thinking…'));
  }

  // ---------------------------------------------------------------------------------------------
  // Running a stream

  function handleEvent(run, event) {
    if (run.detached || !event || typeof event.type !== 'string') return;
    run.received += 1;
    // A resumed run replays from its first event: items the thread already shows whole are skipped.
    if (run.known && run.known.has((event.item && event.item.id) || event.item_id)) return;
    switch (event.type) {
      case 'thread.created':
        if (run.resumed) break;  // a replay: the thread as loaded is newer
        setThread(event.thread);
        upsertThread(event.thread);
        break;
      case 'thread.updated':
        if (state.thread && event.thread.id === state.thread.id) setThread(event.thread);
        upsertThread(event.thread);
        break;
      case 'thread.item.added':
        upsertEntry(structuredClone(event.item), 'streaming');
        break;
      case 'thread.item.updated':
        applyUpdate(event.item_id, event.update);
        break;
      case 'thread.item.done':
      case 'thread.item.replaced':
        if (event.item.type === 'user_message') {
          state.entries.filter((e) => e.status === 'pending').forEach((e) => removeEntry(e.item.id));
        }
        upsertEntry(event.item, 'done');
        break;
      case 'thread.item.removed':
        removeEntry(event.item_id);
        break;
      case 'stream_options':
        run.allowCancel = !!(event.stream_options && event.stream_options.allow_cancel);
        break;
      case 'progress_update':
        showProgress(event.text);
        break;
      case 'notice':
        banner(event.level === 'danger' ? 'error' : event.level || 'info', {
          title: event.title, message: event.message || '', testid: 'notice',
        });
        break;
      case 'error': {
        const message = event.code === 'custom' && event.message ? event.message
          : 'Something went wrong while generating the reply.';
        banner('error', { title: 'The assistant ran into a problem', message, testid: 'error-banner', retry: !!event.allow_retry });
        if (event.allow_retry) state.retryOffered = true;
        break;
      }
      case 'client_effect':
        console.info('playground: client effect', event.name, event.data);
        break;
      default:
        console.debug('playground: ignoring event', event.type);
    }
    renderControls();
  }

  /** Runs one streaming request, or with `resumeId` follows that thread's recent run (a reply still being
   *  written streams on after a reload; 404: none); resolves when the stream ended, failed or was stopped. */
  async function runStream(type, params, resumeId = null) {
    if (state.run) return;
    const run = { controller: new AbortController(), allowCancel: true, stopped: false, detached: false, received: 0, resumed: !!resumeId };
    if (resumeId) run.known = new Set(state.entries.filter((e) => e.status === 'done').map((e) => e.item.id));
    state.run = run;
    state.retryOffered = false;
    if (!resumeId) showProgress('Thinking…');
    renderMessages();
    try {
      const onEvent = (event) => handleEvent(run, event);
      await (resumeId ? resume(resumeId, 0, onEvent, run.controller.signal) : stream(type, params, onEvent, run.controller.signal));
    } catch (err) {
      if (run.resumed && run.received === 0) {
        // No run to follow (404), or it could not be read: the thread as loaded stands.
        if (err.status !== 404) console.warn('playground: could not resume the thread\'s run', err);
      } else if (!run.stopped && !run.detached) {
        if (run.received === 0) {
          // Refused before the stream started (HTTP error, server down): nothing was saved, so
          // the message goes back into the composer.
          const pending = state.entries.filter((e) => e.status === 'pending');
          if (pending.length && !ui.input.value) ui.input.value = userText(pending[0].item);
          pending.forEach((e) => removeEntry(e.item.id));
          showError(err);
        } else {
          // The stream broke midway: whatever was finished is saved; offer to regenerate.
          state.retryOffered = !!lastUserMessage();
          showError(new ApiError('The connection to the server was lost before the reply finished.', 'network', 0),
            { retry: state.retryOffered });
        }
      }
    } finally {
      if (!run.detached) {
        // Items still streaming never got their thread.item.done. After a stop the server saves
        // the partial assistant messages; after an error or a dropped connection it saves nothing.
        for (const entry of state.entries) {
          if (entry.status !== 'streaming') continue;
          entry.status = run.stopped ? 'stopped' : 'interrupted';
        }
        // An assistant message stopped before its first word is not saved by the server either.
        state.entries = state.entries.filter((e) => !(e.status === 'stopped' && e.item.type === 'assistant_message' &&
          !(e.item.content || []).some((p) => (p.text || '').trim())));
        if (run.stopped) state.retryOffered = true;
        const stopHadFocus = document.activeElement === ui.stop;
        state.run = null;
        renderMessages();
        autosize();
        if (stopHadFocus) ui.input.focus();  // the stop button is hidden again
      }
    }
  }

  /** The stop button: the cancel endpoint stops the run (the server keeps the partial reply) and its stream
   *  ends; closing the connection is the fallback (no thread yet, or the request failed). */
  function stopRun() {
    const run = state.run;
    if (!run || run.stopped) return;
    run.stopped = true;
    renderControls();
    const threadId = state.thread && state.thread.id;
    if (!threadId) return run.controller.abort();
    cancelRun(threadId).then(() => setTimeout(() => run.controller.abort(), 5000), () => run.controller.abort());
  }

  /** Leaves the running stream (opening another thread): it is stopped and its events ignored. */
  function detachRun() {
    const run = state.run;
    if (!run) return;
    run.stopped = true;
    run.detached = true;
    run.controller.abort();
    state.run = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Attachments: attachments.create, then the upload to its upload_descriptor (PROTOCOL.md §4.12)

  /** Fetches an image preview with the user's headers (an <img src> could not send them). */
  async function loadPreview(attachment, img) {
    let url = state.previews.get(attachment.id);
    if (!url) {
      const src = safeUrl(attachment.preview_url);
      if (!src) return;
      try {
        const response = await fetch(src, { headers: requestHeaders() });
        if (!response.ok) return;
        url = URL.createObjectURL(await response.blob());
        state.previews.set(attachment.id, url);
      } catch (_) {
        return;
      }
    }
    img.src = url;
  }

  function renderAttachment(a) {
    if (a.type === 'image' && a.preview_url) {
      const img = h('img', { className: 'attachment-image', alt: a.name || 'image', dataset: { testid: 'attachment-image' } });
      loadPreview(a, img);
      return h('figure', { className: 'attachment' }, img, h('figcaption', {}, a.name || ''));
    }
    return h('p', { className: 'attachment', dataset: { testid: 'attachment-file' } }, `📎 ${a.name}`);
  }

  function renderPendingAttachments() {
    ui.pendingAttachments.replaceChildren(...state.attachments.map((entry) => h('li', {
      className: 'chip', dataset: { testid: 'pending-attachment', uploading: entry.uploading ? 'true' : 'false' },
    }, entry.uploading ? `Uploading ${entry.name}…` : `📎 ${entry.name}`, entry.uploading ? null : h('button', {
      type: 'button', className: 'chip-remove', 'aria-label': `Remove ${entry.name}`,
      onclick: () => removeAttachment(entry),
    }, '×'))));
    ui.pendingAttachments.hidden = state.attachments.length === 0;
  }

  async function removeAttachment(entry) {
    state.attachments = state.attachments.filter((e) => e !== entry);
    renderPendingAttachments();
    if (entry.attachment) {
      try { await call('attachments.delete', { attachment_id: entry.attachment.id }); } catch (_) { /* best effort */ }
    }
  }

  /** Uploads one file: phase 1 (attachments.create), phase 2 (multipart POST to the descriptor). */
  async function uploadFile(file) {
    const entry = { name: file.name, uploading: true, attachment: null };
    state.attachments.push(entry);
    renderPendingAttachments();
    try {
      const attachment = await call('attachments.create', { name: file.name, size: file.size, mime_type: file.type || 'application/octet-stream' });
      const descriptor = attachment.upload_descriptor;
      if (descriptor) {
        const form = new FormData();
        form.append('file', file, file.name);
        const headers = { ...(descriptor.headers || {}) };
        if (state.userId) headers['X-User-Id'] = state.userId;
        let response;
        try {
          response = await fetch(descriptor.url, { method: descriptor.method || 'POST', headers, body: form });
        } catch (_) {
          throw new ApiError('Could not reach the server. Is it running?', 'network', 0);
        }
        if (!response.ok) throw await errorOf(response);
        delete attachment.upload_descriptor;
      }
      entry.attachment = attachment;
      entry.uploading = false;
    } catch (err) {
      state.attachments = state.attachments.filter((e) => e !== entry);
      showError(err);
    }
    renderPendingAttachments();
  }

  // ---------------------------------------------------------------------------------------------
  // Actions

  function send() {
    const text = ui.input.value.trim();
    if (!text || state.run) return;
    if (state.attachments.some((e) => e.uploading)) {
      toast('Wait for the uploads to finish');
      return;
    }
    ui.input.value = '';
    autosize();
    clearBanners();
    const attached = state.attachments.map((e) => e.attachment);
    state.attachments = [];
    renderPendingAttachments();
    const input = { content: [{ type: 'input_text', text }], attachments: attached.map((a) => a.id), inference_options: {} };
    const optimistic = {
      id: `pending_${Date.now()}`, thread_id: state.thread ? state.thread.id : '', created_at: new Date().toISOString(),
      type: 'user_message', content: input.content, attachments: attached, inference_options: {},
    };
    state.entries.push({ item: optimistic, status: 'pending' });
    renderMessages();
    scrollToBottom();
    if (state.thread) runStream('threads.add_user_message', { thread_id: state.thread.id, input });
    else runStream('threads.create', { input });
  }

  /** Regenerates the reply to the last user message (threads.retry_after_item). */
  function retryLast() {
    const user = lastUserMessage();
    if (!state.thread || !user || state.run) return;
    clearBanners();
    // The server deletes everything after the user message without sending events for it.
    const index = entryIndex(user.id);
    state.entries = state.entries.slice(0, index + 1);
    renderMessages();
    runStream('threads.retry_after_item', { thread_id: state.thread.id, item_id: user.id });
  }

  async function sendFeedback(itemId, kind) {
    if (!state.thread) return;
    try {
      await call('items.feedback', { thread_id: state.thread.id, item_ids: [itemId], kind });
      state.feedback.set(itemId, kind);
      const index = entryIndex(itemId);
      if (index >= 0) renderOne(state.entries[index]);
      toast(kind === 'positive' ? 'Thanks! Marked as a good reply.' : 'Thanks! Marked as a bad reply.');
    } catch (err) {
      showError(err);
    }
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      toast('Copied');
    } catch (_) {
      toast('Copy is not available here');
    }
  }

  function newChat() {
    detachRun();
    clearBanners();
    cancelRename();
    state.entries = [];
    state.hasOlder = false;
    state.olderAfter = null;
    state.retryOffered = false;
    setThread(null);
    renderMessages();
    closeSidebar();
    ui.input.focus();
  }

  async function openThread(id) {
    detachRun();
    clearBanners();
    cancelRename();
    let thread;
    let entries;
    let hasOlder = false;
    let olderAfter = null;
    try {
      thread = await call('threads.get_by_id', { thread_id: id });
      let items = (thread.items && thread.items.data) || [];
      if (thread.items && thread.items.has_more) {
        // get_by_id returns the oldest page; a chat shows the newest one, with earlier pages on demand.
        const page = await call('items.list', { thread_id: id, order: 'desc', limit: PAGE_SIZE });
        items = (page.data || []).slice().reverse();
        hasOlder = !!page.has_more;
        olderAfter = page.after || null;
      }
      entries = items.map((item) => ({ item, status: 'done' }));
    } catch (err) {
      showError(err);
      if (err.status === 404) {
        state.threads = state.threads.filter((t) => t.id !== id);
        if (state.thread && state.thread.id === id) newChat();
        renderThreadList();
      }
      return;
    }
    state.entries = entries;
    state.hasOlder = hasOlder;
    state.olderAfter = olderAfter;
    state.retryOffered = false;
    setThread(thread);
    upsertThread(thread, { insert: false });  // an older thread may not be on the loaded pages yet
    renderMessages();
    scrollToBottom();
    runStream(null, null, id);  // a reply still being written streams on
  }

  async function loadOlder() {
    if (!state.thread || !state.hasOlder) return;
    const threadId = state.thread.id;
    ui.loadOlder.disabled = true;
    try {
      const params = { thread_id: threadId, order: 'desc', limit: PAGE_SIZE };
      if (state.olderAfter) params.after = state.olderAfter;
      const page = await call('items.list', params);
      if (!state.thread || state.thread.id !== threadId) return;
      const known = new Set(state.entries.map((e) => e.item.id));
      const older = (page.data || []).filter((item) => !known.has(item.id)).reverse()
        .map((item) => ({ item, status: 'done' }));
      const before = ui.conversation.scrollHeight - ui.conversation.scrollTop;
      state.entries = older.concat(state.entries);
      state.hasOlder = !!page.has_more;
      state.olderAfter = page.after || null;
      renderMessages();
      ui.conversation.scrollTop = ui.conversation.scrollHeight - before;
    } catch (err) {
      showError(err);
    } finally {
      ui.loadOlder.disabled = false;
    }
  }

  // Rename (threads.update)
  function startRename() {
    if (!state.thread) return;
    ui.renameInput.value = state.thread.title || '';
    ui.title.hidden = true;
    ui.headActions.hidden = true;
    ui.renameForm.hidden = false;
    ui.renameInput.focus();
    ui.renameInput.select();
  }

  function cancelRename() {
    if (ui.renameForm.hidden) return;
    ui.renameForm.hidden = true;
    ui.title.hidden = false;
    ui.headActions.hidden = !state.thread;
  }

  async function saveRename(event) {
    event.preventDefault();
    const title = ui.renameInput.value.trim();
    if (!state.thread || !title) return;
    try {
      const thread = await call('threads.update', { thread_id: state.thread.id, title });
      cancelRename();
      if (state.thread && state.thread.id === thread.id) setThread(thread);
      upsertThread(thread);
      toast('Renamed');
    } catch (err) {
      showError(err);
    }
  }

  // Delete (threads.delete)
  function askDelete() {
    if (!state.thread) return;
    ui.deleteDialog.returnValue = '';
    ui.deleteDialog.showModal();
  }

  async function deleteCurrent() {
    if (!state.thread) return;
    const id = state.thread.id;
    try {
      await call('threads.delete', { thread_id: id });
      state.threads = state.threads.filter((t) => t.id !== id);
      newChat();
      toast('Conversation deleted');
    } catch (err) {
      showError(err);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Layout: the composer's height, the sidebar on small screens, the user field

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 220)}px`;
  }

  function closeSidebar() {
    ui.app.classList.remove('sidebar-open');
    ui.sidebarToggle.setAttribute('aria-expanded', 'false');
  }

  function toggleSidebar() {
    const open = ui.app.classList.toggle('sidebar-open');
    ui.sidebarToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function changeUser() {
    const value = ui.userId.value.trim();
    if (!ui.userId.checkValidity() || value === state.userId) return;
    state.userId = value;
    if (value) localStorage.setItem(USER_KEY, value);
    else localStorage.removeItem(USER_KEY);
    state.threads = [];
    state.threadsAfter = null;
    newChat();
    loadThreads();
  }

  function threadFromHash() {
    const match = /^#thread=(.+)$/.exec(location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring

  ui.composer.addEventListener('submit', (event) => { event.preventDefault(); send(); });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'Escape' && state.run) {
      stopRun();
    }
  });
  ui.input.addEventListener('input', autosize);
  ui.welcome.addEventListener('click', (event) => {
    const button = event.target.closest('[data-prompt]');
    if (!button || state.run) return;
    const prompt = button.dataset.prompt;
    ui.input.value = prompt === 'long'
      ? `Here is a long message, so that you can press Stop while the reply streams. ${
        Array.from({ length: 60 }, (_, i) => `Sentence ${i + 1} of the long message.`).join(' ')}`
      : prompt;
    send();
  });
  ui.stop.addEventListener('click', stopRun);
  ui.attach.addEventListener('click', () => ui.fileInput.click());
  ui.fileInput.addEventListener('change', () => {
    const files = Array.from(ui.fileInput.files || []);
    ui.fileInput.value = '';
    files.forEach(uploadFile);
  });
  ui.retry.addEventListener('click', retryLast);
  ui.newThread.addEventListener('click', newChat);
  ui.threadListMore.addEventListener('click', () => loadThreads({ more: true }));
  ui.loadOlder.addEventListener('click', loadOlder);
  ui.renameButton.addEventListener('click', startRename);
  ui.renameForm.addEventListener('submit', saveRename);
  ui.renameCancel.addEventListener('click', cancelRename);
  ui.renameInput.addEventListener('keydown', (event) => { if (event.key === 'Escape') { event.preventDefault(); cancelRename(); } });
  ui.deleteButton.addEventListener('click', askDelete);
  ui.deleteDialog.addEventListener('close', () => { if (ui.deleteDialog.returnValue === 'delete') deleteCurrent(); });
  ui.sidebarToggle.addEventListener('click', toggleSidebar);
  // On small screens the open sidebar covers the page with a backdrop (.app::after): a click on it,
  // or Escape, closes the sidebar.
  ui.app.addEventListener('click', (event) => { if (event.target === ui.app) closeSidebar(); });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && ui.app.classList.contains('sidebar-open')) closeSidebar();
  });
  ui.userId.value = state.userId;
  ui.userId.addEventListener('change', changeUser);
  window.addEventListener('hashchange', () => {
    const id = threadFromHash();
    if (id && (!state.thread || state.thread.id !== id)) openThread(id);
    else if (!id && state.thread) newChat();
  });

  renderHeader();
  renderMessages();
  loadThreads();
  const initial = threadFromHash();
  if (initial) openThread(initial);
  ui.input.focus();
})();
