// On a phone the menu is one line that scrolls sideways: bring the current page's entry into view.
(() => {
  const current = document.querySelector('header nav a[aria-current="page"]');
  const nav = current?.closest('nav');
  if (!current || !nav || nav.scrollWidth <= nav.clientWidth) return;
  nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
})();
