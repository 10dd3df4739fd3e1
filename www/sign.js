// What an app backend does: sign the file's SHA-1 and name. Here the dev server plays that backend
// (POST /dev/signature; the secret key never reaches the page). Used by the queue and the recorder.

export async function getSignature({ fileSha, fileName }) {
  const response = await fetch('/dev/signature', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileSha, fileName }),
  });
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).trim().slice(0, 200);
    throw new Error(`the signing backend answered HTTP ${response.status}${body ? `: ${body}` : ''}`);
  }
  const { signature } = await response.json();
  if (typeof signature !== 'string' || signature === '') {
    throw new Error('the signing backend answered without a signature');
  }
  return signature;
}
