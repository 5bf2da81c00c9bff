import { expect, test } from '@playwright/test';

// Once per run: the viewers need WebGL2, which here is software-rendered (SwiftShader).
test('the browser offers WebGL2 and says which renderer', async ({ page }) => {
  await page.goto('/');
  const info = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return {
      version: gl.getParameter(gl.VERSION) as string,
      renderer: (ext
        ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)
        : gl.getParameter(gl.RENDERER)) as string,
    };
  });
  expect(info, 'WebGL2 context').not.toBeNull();
  console.log(`WebGL: ${info!.version} — ${info!.renderer}`);
  expect(info!.version).toMatch(/WebGL 2/);
  expect(info!.renderer.length).toBeGreaterThan(0);
});
