// ChatKit playground, the parts that hold no page state: DOM helpers, formatting, the protocol client
// (POST {"type", "params"}; streaming answers read as Server-Sent Events) and the widget renderer.
// playground.js takes them from `window.ChatKitPlayground`.
//
// Server data is only ever put in the page with textContent / attributes, never as HTML.
'use strict';

window.ChatKitPlayground = (() => {
  // ---------------------------------------------------------------------------------------------
  // DOM helpers

  /** Creates an element: h('p', {className: 'x', dataset: {testid: 'y'}}, 'text', child...). */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key === 'className' || key === 'textContent' || key === 'type' || key === 'title') node[key] = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    up: 'M7 9v7H4V9h3zm0 0l3-6c1.2 0 2 .8 2 2v3h3.2c.9 0 1.5.8 1.3 1.7l-1.2 5c-.2.7-.8 1.3-1.6 1.3H7',
    down: 'M7 11V4H4v7h3zm0 0l3 6c1.2 0 2-.8 2-2v-3h3.2c.9 0 1.5-.8 1.3-1.7l-1.2-5C15.1 4.6 14.5 4 13.7 4H7',
    retry: 'M4 10a6 6 0 1 0 2-4.5M4 4v3h3',
    copy: 'M7 7h9v9H7zM4 13V4h9',
    close: 'M5 5l10 10M15 5L5 15',
    link: 'M8 12l4-4M7 9l-2 2a2.8 2.8 0 0 0 4 4l2-2M13 11l2-2a2.8 2.8 0 0 0-4-4L9 7',
  };
  /** One of our own stroke icons (never server data). */
  function icon(name) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 20 20');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('class', 'icon');
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting

  /** Parses the server's timestamps (`2025-06-01T12:00:00.123456`, naive = server local time). */
  function parseTime(text) {
    if (typeof text !== 'string') return null;
    const trimmed = text.replace(/(\.\d{3})\d+/, '$1');
    const date = new Date(trimmed);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function shortTime(text) {
    const date = parseTime(text);
    if (!date) return '';
    const now = new Date();
    if (date.toDateString() === now.toDateString())
      return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return date.toLocaleDateString([], { month: 'short', day: 'numeric' });
  }

  function threadTitle(thread) {
    return thread && typeof thread.title === 'string' && thread.title.trim() ? thread.title : 'Untitled chat';
  }

  function userText(item) {
    return (item.content || []).map((part) => {
      if (part.type === 'input_text') return part.text || '';
      if (part.type === 'input_tag') return `@${part.text || part.id || ''}`;
      return '';
    }).join('');
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The protocol client

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  /** The client of the ChatKit endpoint at `endpoint`; `headers()` gives each request's headers. */
  function createClient(endpoint, headers) {
    /** The ApiError of a non-2xx answer: the body is {"error": {"code", "message"}} when it is ours. */
    async function errorOf(response) {
      let code = `http_${response.status}`;
      let message = `The server answered ${response.status} ${response.statusText}`.trim() + '.';
      try {
        const body = await response.json();
        if (body && typeof body.error === 'object' && body.error) {
          if (typeof body.error.code === 'string') code = body.error.code;
          if (typeof body.error.message === 'string' && body.error.message) message = body.error.message;
        }
      } catch (_) { /* not JSON: keep the status line */ }
      return new ApiError(message, code, response.status);
    }

    async function post(type, params, signal) {
      try {
        const response = await fetch(endpoint, {
          method: 'POST', headers: headers(), body: JSON.stringify({ type, params }), signal,
        });
        if (!response.ok) throw await errorOf(response);
        return response;
      } catch (err) {
        if (err instanceof ApiError || (err && err.name === 'AbortError')) throw err;
        throw new ApiError('Could not reach the server. Is it running?', 'network', 0);
      }
    }

    /** A non-streaming request: resolves to the JSON result. */
    async function call(type, params) {
      const response = await post(type, params);
      return response.json();
    }

    /** A streaming request: calls onEvent for each SSE event until the stream ends. */
    async function stream(type, params, onEvent, signal) {
      const response = await post(type, params, signal);
      await readEvents(response, onEvent);
    }

    /** The URL of a run endpoint of thread `threadId` (docs/concepts.md, "Replies that outlive the connection"). */
    function runUrl(threadId, suffix) {
      return `${endpoint}/runs/${encodeURIComponent(threadId)}${suffix}`;
    }

    async function fetchRun(url, init) {
      let response;
      try {
        response = await fetch(url, init);
      } catch (err) {
        if (err && err.name === 'AbortError') throw err;
        throw new ApiError('Could not reach the server. Is it running?', 'network', 0);
      }
      if (!response.ok) throw await errorOf(response);
      return response;
    }

    /**
     * Follows the thread's current (or last) run from event index `after` — the count of its events
     * already applied — until it ends: GET <endpoint>/runs/{thread_id}?after=N. Rejects with an
     * ApiError of status 404 when the thread has no recent run.
     */
    async function resume(threadId, after, onEvent, signal) {
      const response = await fetchRun(runUrl(threadId, `?after=${after}`), { headers: headers(), signal });
      await readEvents(response, onEvent);
    }

    /** Stops the thread's active run (POST <endpoint>/runs/{thread_id}/cancel); resolves to whether one ran. */
    async function cancelRun(threadId) {
      const response = await fetchRun(runUrl(threadId, '/cancel'), { method: 'POST', headers: headers() });
      const body = await response.json();
      return !!(body && body.cancelled);
    }

    /** Calls onEvent for each SSE event of `response` until it ends. */
    async function readEvents(response, onEvent) {
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r/g, '');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          // Lines starting with ':' are comments (keep-alives); only `data:` lines carry events.
          const data = frame.split('\n').filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
          if (!data) continue;
          let event;
          try {
            event = JSON.parse(data);
          } catch (_) {
            console.warn('playground: ignoring a malformed event', data);
            continue;
          }
          onEvent(event);
        }
      }
    }

    return { post, call, stream, resume, cancelRun };
  }

  // ---------------------------------------------------------------------------------------------
  // Widgets (PROTOCOL.md §8): the common components, rendered with textContent and attributes only

  const WIDGET_GAP = (value) => (typeof value === 'number' ? `${value * 4}px` : typeof value === 'string' ? value : null);

  /** Safe image sources: http(s) URLs and data: URLs of raster images. */
  function safeImageUrl(url) {
    if (typeof url === 'string' && /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(url)) return url;
    return safeUrl(url);
  }

  /** The widget renderer; `onAction(item, actionConfig)` runs a button's or list item's action. */
  function createWidgetRenderer(onAction) {
    function renderWidgetNode(item, node, depth) {
      if (!node || typeof node !== 'object' || depth > 40) return null;
      const type = typeof node.type === 'string' ? node.type : '';
      const kids = () => (Array.isArray(node.children) ? node.children : [])
        .map((child) => renderWidgetNode(item, child, depth + 1)).filter(Boolean);
      const box = (className) => {
        const el = h('div', { className: `w-box ${className}`, dataset: { widget: type } }, ...kids());
        const gap = WIDGET_GAP(node.gap);
        if (gap) el.style.gap = gap;
        const padding = WIDGET_GAP(node.padding);
        if (padding && typeof node.padding !== 'object') el.style.padding = padding;
        if (typeof node.align === 'string') el.style.alignItems = { start: 'flex-start', end: 'flex-end' }[node.align] || node.align;
        if (typeof node.justify === 'string') el.style.justifyContent = { start: 'flex-start', end: 'flex-end', between: 'space-between', around: 'space-around', evenly: 'space-evenly' }[node.justify] || node.justify;
        return el;
      };
      const text = (tag, className) => h(tag, {
        className: `w-text ${className}`, dataset: { widget: type, componentId: node.id || undefined },
      }, typeof node.value === 'string' ? node.value : '');
      switch (type) {
        case 'Card':
        case 'Basic': {
          const card = box('w-card');
          const footer = [];
          for (const [key, style] of [['cancel', 'w-btn-secondary'], ['confirm', 'w-btn-primary']]) {
            const a = node[key];
            if (a && typeof a.label === 'string') {
              footer.push(h('button', {
                type: 'button', className: `w-btn ${style}`, dataset: { testid: 'widget-button' },
                onclick: () => onAction(item, a.action),
              }, a.label));
            }
          }
          if (footer.length) card.append(h('div', { className: 'w-card-footer' }, ...footer));
          return card;
        }
        case 'ListView': {
          const list = h('ul', { className: 'w-list', dataset: { widget: type } });
          for (const child of Array.isArray(node.children) ? node.children : []) {
            const rendered = renderWidgetNode(item, child, depth + 1);
            if (rendered) list.append(rendered);
          }
          return list;
        }
        case 'ListViewItem': {
          const li = h('li', { className: 'w-list-item', dataset: { widget: type } }, ...kids());
          if (node.onClickAction) {
            li.classList.add('w-clickable');
            li.tabIndex = 0;
            li.addEventListener('click', () => onAction(item, node.onClickAction));
          }
          return li;
        }
        case 'Row': return box('w-row');
        case 'Col': case 'Form': return box('w-col');
        case 'Box': return box(node.direction === 'row' ? 'w-row' : 'w-col');
        case 'Title': return text('p', 'w-title');
        case 'Caption': return text('p', 'w-caption');
        case 'Text': return text('p', '');
        case 'Markdown': return text('p', 'w-markdown');
        case 'Label': return text('span', 'w-caption');
        case 'Badge':
          return h('span', { className: `w-badge w-badge-${typeof node.color === 'string' ? node.color : 'secondary'}`, dataset: { widget: type } },
            typeof node.label === 'string' ? node.label : '');
        case 'Divider': return h('hr', { className: 'w-divider', dataset: { widget: type } });
        case 'Spacer': return h('div', { className: 'w-spacer', dataset: { widget: type } });
        case 'Icon': return h('span', { className: 'w-icon', 'aria-hidden': 'true', dataset: { widget: type } }, '★');
        case 'Image': {
          const src = safeImageUrl(node.src);
          if (!src) return null;
          const img = h('img', { className: 'w-image', src, alt: typeof node.alt === 'string' ? node.alt : '', dataset: { widget: type } });
          if (typeof node.width === 'number') img.width = node.width;
          if (typeof node.height === 'number') img.height = node.height;
          return img;
        }
        case 'Button': {
          const style = node.style === 'primary' || node.color === 'primary' ? 'w-btn-primary' : 'w-btn-secondary';
          return h('button', {
            type: 'button', className: `w-btn ${style}`, disabled: node.disabled === true,
            dataset: { testid: 'widget-button', widget: type },
            onclick: () => onAction(item, node.onClickAction),
          }, typeof node.label === 'string' ? node.label : '');
        }
        case 'Transition':
          return node.children && typeof node.children === 'object' ? renderWidgetNode(item, node.children, depth + 1) : null;
        default:
          return h('span', { className: 'w-unknown', dataset: { widget: type } }, `[${type || 'component'}]`);
      }
    }

    function renderWidget(item) {
      const root = renderWidgetNode(item, item.widget, 0);
      return h('div', { className: 'widget', dataset: { testid: 'widget' } }, root);
    }

    /** Applies widget.streaming_text.value_delta to the node with that id. */
    function applyWidgetDelta(node, id, delta) {
      if (!node || typeof node !== 'object') return false;
      if ((node.type === 'Text' || node.type === 'Markdown') && node.id === id) {
        node.value = (node.value || '') + delta;
        return true;
      }
      if (Array.isArray(node.children)) return node.children.some((child) => applyWidgetDelta(child, id, delta));
      return false;
    }

    return { renderWidget, applyWidgetDelta };
  }

  return Object.freeze({
    h, icon, parseTime, shortTime, threadTitle, userText, safeUrl, safeImageUrl, ApiError, createClient,
    createWidgetRenderer,
  });
})();
