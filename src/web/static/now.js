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
  const refreshPanel = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      // Do not replace a form someone is typing in.
      if (panel.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') {
        refreshPanel();
        return;
      }
      try {
        const res = await fetch('/now/panel', { credentials: 'same-origin' });
        if (res.redirected || !res.ok) {
          window.location.assign('/login');
          return;
        }
        panel.innerHTML = await res.text();
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
