// On every dashboard page: the count of unacknowledged alarms in the tab title, and for a new alarm a short
// tone (when the user's setting allows) and a browser notification (when the user allowed them). Permission
// is asked only when the user presses the button, never on load.
(() => {
  const dataBlock = document.getElementById('alarm-data');
  if (!dataBlock) return;
  const data = JSON.parse(dataBlock.textContent);
  const baseTitle = document.title.replace(/^\(\d+\) /, '');
  let newestSeen = data.summary.newest ? data.summary.newest.raisedAt : 0;

  const showCount = (count) => {
    document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
  };

  let audio = null;
  const tone = () => {
    if (!data.sound) return;
    try {
      audio ??= new AudioContext();
      const at = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'square';
      osc.frequency.setValueAtTime(880, at);
      osc.frequency.setValueAtTime(660, at + 0.18);
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.42);
    } catch {
      // No audio device, or the browser wants a click on the page first: the title and notification remain.
    }
  };

  const notify = (newest) => {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      new Notification(`${data.words.newAlarm}: ${newest.title}`, {
        body: newest.body,
        tag: `dorvakt-${newest.id}`,
      });
    } catch {
      // Some browsers allow notifications only from a service worker.
    }
  };

  const onSummary = (summary) => {
    showCount(summary.unacknowledged);
    const newest = summary.newest;
    if (newest && newest.raisedAt > newestSeen) {
      newestSeen = newest.raisedAt;
      tone();
      notify(newest);
    }
  };

  const button = document.getElementById('notify-enable');
  const state = document.getElementById('notify-state');
  const showPermission = () => {
    if (!button || !state || !('Notification' in window)) return;
    const permission = Notification.permission;
    button.hidden = permission !== 'default';
    state.textContent =
      permission === 'granted'
        ? data.words.notifyOn
        : permission === 'denied'
          ? data.words.notifyBlocked
          : '';
  };
  button?.addEventListener('click', async () => {
    try {
      await Notification.requestPermission();
    } catch {
      // older browsers take a callback; the state below says what happened either way
    }
    showPermission();
  });
  showPermission();

  // One stream per page; the Now page's script listens on the same one.
  const source = new EventSource('/api/events');
  window.dorvaktEvents = source;
  source.addEventListener('alarms', (message) => {
    try {
      onSummary(JSON.parse(message.data));
    } catch {
      // a malformed message changes nothing
    }
  });
})();
