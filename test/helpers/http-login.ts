/** Logs in over HTTP like a browser; returns the session cookie. */
export async function httpLogin(base: string, name: string, password: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const loginCookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: token, name, password }).toString(),
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('dorvakt_session='));
  if (res.status !== 303 || !session) throw new Error(`login failed: ${res.status}`);
  return session.split(';')[0]!;
}
