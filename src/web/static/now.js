// Live view for the Now screen: an EventSource on /api/events; doors and alarms are re-rendered by the server.
(() => {
  const labels = JSON.parse(document.getElementById('labels').textContent);
  const locale = document.querySelector('meta[name="locale"]').content;
  const timeZone = document.querySelector('meta[name="tz"]').content;
  const status = document.getElementById('live-status');
  const live = document.getElementById('live');
  const letIn = document.getElementById('let-in-count');
  const panel = document.getElementById('panel');
  const fmt = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : locale === 'da' ? 'da-DK' : 'nb-NO', {
    timeZone,
    dateStyle: 'short',
    timeStyle: 'medium',
  });

  let refreshTimer = null;
  // Someone is using a control in the panel (typing, or pressing a button): do not replace it under them.
  const inUse = () => {
    const active = document.activeElement;
    return (
      active !== panel && panel.contains(active) && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName)
    );
  };
  const fieldKey = (el) =>
    `${el.form?.getAttribute('action') ?? ''}|${el.name}|${el.type === 'checkbox' || el.type === 'radio' ? el.value : ''}`;
  // What staff typed or ticked and not yet sent, to put back into the new panel (a door event redraws it).
  const typed = () => {
    const kept = new Map();
    for (const el of panel.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const check = el.type === 'checkbox' || el.type === 'radio';
      if (check ? el.checked !== el.defaultChecked : el.value !== el.defaultValue)
        kept.set(fieldKey(el), check ? el.checked : el.value);
    }
    return kept;
  };
  const refreshPanel = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      if (inUse()) {
        refreshPanel();
        return;
      }
      try {
        const res = await fetch('/now/panel', { credentials: 'same-origin' });
        if (res.redirected || !res.ok) {
          window.location.assign('/login');
          return;
        }
        const body = await res.text();
        // The answer may come while someone has started on a form: wait for them.
        if (inUse()) {
          refreshPanel();
          return;
        }
        const kept = typed();
        panel.innerHTML = body;
        for (const el of panel.querySelectorAll('input, select, textarea')) {
          const key = fieldKey(el);
          if (!kept.has(key)) continue;
          if (el.type === 'checkbox' || el.type === 'radio') el.checked = kept.get(key);
          else el.value = kept.get(key);
        }
      } catch {
        refreshPanel();
      }
    }, 250);
  };

  const cell = (text, code) => {
    const td = document.createElement('td');
    if (code && text !== code) {
      // The words, with the code on hover, as the server renders them.
      const span = document.createElement('span');
      span.title = code;
      span.textContent = text;
      td.append(span);
    } else td.textContent = text ?? '';
    return td;
  };
  const words = (map, code) => (code && Object.hasOwn(map, code) ? map[code] : code);

  const addEntry = (event) => {
    // A reconnect may replay an entry already shown.
    if (live.querySelector(`tr[data-entry="${Number(event.entryId)}"]`)) return;
    const tr = document.createElement('tr');
    tr.className = event.outcome;
    tr.dataset.entry = String(event.entryId);
    tr.append(
      cell(fmt.format(new Date(event.ts))),
      cell(words(labels.doors, event.door)),
      cell(labels[`mode.${event.mode}`] ?? event.mode),
      cell(labels[`outcome.${event.outcome}`] ?? event.outcome),
      cell(words(labels.reasons, event.reason), event.reason),
      cell(words(labels.categories, event.category), event.category),
    );
    live.prepend(tr);
    while (live.rows.length > 50) live.deleteRow(live.rows.length - 1);
    if (event.outcome === 'granted' && event.mode === 'staffless')
      letIn.textContent = String(Number(letIn.textContent) + 1);
  };

  // alarms.js (loaded first on every page) opened the stream already.
  const source = window.dorvaktEvents ?? new EventSource('/api/events');
  const opened = () => {
    status.hidden = true;
    refreshPanel();
  };
  source.addEventListener('open', opened);
  if (source.readyState === EventSource.OPEN) opened();
  source.addEventListener('error', () => {
    status.hidden = false;
  });
  source.addEventListener('alarms', () => refreshPanel());
  source.addEventListener('message', (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    // Filtered or older pages are not live: a new swipe would not belong there.
    if (event.type === 'entry') {
      if (live.dataset.live) addEntry(event);
    } else refreshPanel();
  });
})();
