// Shows the demo's "did not load" banner when its module did not run: a script or one of its imports
// could not be fetched (dist/ not built), or threw, or the page's module never said it was ready.
// A classic script, in a file of its own, so that it runs under a Content-Security-Policy that
// allows no inline script, and also where modules fail.
(() => {
  const show = () => {
    if (document.documentElement.dataset.ready === 'true') return;
    const banner = document.getElementById('load-error');
    if (banner) banner.hidden = false;
  };
  // A script element that failed to load (its own file or an import it needs) fires `error` on
  // itself, which does not bubble: caught on the way down.
  addEventListener('error', (event) => {
    if (event.target instanceof HTMLScriptElement) show();
  }, true);
  // Modules run before `load`; the demo's marks the page ready at its end.
  addEventListener('load', show);
})();
