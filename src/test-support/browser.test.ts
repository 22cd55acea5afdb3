/**
 * The browser harness can fail: axe-core, injected into a page, reports a serious violation (a button
 * with no name) as a failed check naming the rule and the element, and passes the same page once it
 * is labelled; a profile hears the page's CSP violations and uncaught errors.
 */
import { expect, it } from 'vitest';
import { describeInBrowser, expectAccessible, openProfile } from './browser.js';

describeInBrowser('browser harness', () => {
  it('fails on a serious accessibility violation and passes once it is fixed', async () => {
    const { page, close } = await openProfile('phone');
    await page.setContent(
      '<html lang="en"><title>t</title><main><h1>x</h1><button id="go"></button></main></html>',
    );
    const failed = await expectAccessible(page, 'bad').then(
      () => 'passed',
      (e: Error) => e.message,
    );
    expect(failed).toContain('button-name (critical)');
    expect(failed).toContain('#go');
    await page.setContent(
      '<html lang="en"><title>t</title><main><h1>x</h1><button>Go</button></main></html>',
    );
    await expectAccessible(page, 'good');
    await close();
  });

  it('hears a Content-Security-Policy violation (but not the decoder’s tried eval) and a page error', async () => {
    const { page, problems, close } = await openProfile('desktop');
    // A page with the servers' kind of CSP (a header), an inline script and a data: image it forbids.
    await page.route('http://page.test/', (route) =>
      route.fulfill({
        contentType: 'text/html',
        headers: { 'content-security-policy': "default-src 'self'" },
        body: `<html lang="en"><title>t</title><script>document.title = 'ran'</script>
          <img src="data:image/png;base64,iVBORw0KGgo=" alt="x"></html>`,
      }),
    );
    await page.goto('http://page.test/');
    await page.evaluate(
      `setTimeout(() => { try { new Function('return 1') } catch {} ; throw new Error('boom') })`,
    );
    await expect.poll(() => problems.length).toBe(3);
    expect(problems).toEqual([
      expect.stringMatching(/^CSP violation: script-src-elem blocked inline/),
      expect.stringMatching(/^CSP violation: img-src blocked data/),
      'page error: boom',
    ]);
    expect(await page.title()).toBe('t');
    await close();
  });
});
