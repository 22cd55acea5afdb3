/**
 * The browser harness can fail: axe-core, injected into a page, reports a serious violation (a button
 * with no name, an image with no text alternative) as a failed check naming the rule and the element,
 * and passes the same page once it is labelled.
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
});
