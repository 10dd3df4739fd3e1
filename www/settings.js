// The demo's settings from its query string (see app.js for the parameters): the options every
// file's upload is given, the queue's lanes, and the footer line that lists what was changed.

const params = new URLSearchParams(location.search);

/** Whether the user switched this browser to development (see ?endpoint in app.js): a link cannot. */
function devSwitch() {
  try {
    return localStorage.getItem('vod-demo:dev') === 'on';
  } catch {
    return false; // storage blocked: no switch
  }
}

function numberParam(name) {
  const raw = params.get(name);
  return raw === null || raw.trim() === '' ? undefined : Number(raw);
}

// Values are passed to upload() as given, so an invalid one shows the package's own error on the card.
export const uploadOptions = Object.fromEntries(
  Object.entries({
    endpoint: (devSwitch() && params.get('endpoint')) || new URL('/v2/index.php', location.href).href,
    partSize: numberParam('partSize'),
    concurrency: numberParam('concurrency'),
    retries: numberParam('retries'),
    retryDelay: numberParam('retryDelay'),
  }).filter(([, value]) => value !== undefined),
);

/**
 * The queue's options: its lanes are ?concurrency where it is a number the queue takes (else its
 * default; the value is still passed to each file's upload, which shows its own error for a bad one).
 */
export function queueOptions() {
  const lanes = uploadOptions.concurrency;
  return Number.isInteger(lanes) && lanes >= 1 && lanes <= 16 ? { concurrency: lanes } : {};
}

/** Appends the settings changed from the defaults to the footer's line. */
export function showSettings(line) {
  const settings = [];
  if (uploadOptions.partSize) settings.push(`${uploadOptions.partSize / 1024} KiB parts`);
  if (uploadOptions.concurrency) settings.push(`${uploadOptions.concurrency} in flight`);
  if (uploadOptions.retries !== undefined) settings.push(`${uploadOptions.retries} retries`);
  if (!uploadOptions.endpoint.startsWith(`${location.origin}/`)) settings.push(`endpoint ${uploadOptions.endpoint} (development switch)`);
  if (settings.length) line.textContent += ` Settings: ${settings.join(', ')}.`;
}
