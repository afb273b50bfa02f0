// A test guest for gatehouse's virtual WASI (tests/all/wasi.rs): it reads
// the wall clock, the monotonic clock and random numbers through the
// JavaScript runtime's WASI imports, writes to stdout and stderr, and
// echoes every answer in its finding so a test can compare them with the
// recorded host calls.
export const policy = {
  describe() {
    return {
      name: 'wasi-probe',
      version: '0.1.0',
      rules: [{ id: 'probe.echo', severity: 'info', description: 'Echoes the WASI answers it got.', citation: undefined }],
      sdk: undefined,
    };
  },
  validate(action, ctx) {
    const now = Date.now();
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    const random = Math.random();
    const elapsed = performance.now();
    console.log(`probe ${action.id}: now ${now}`);
    console.error('probe: to stderr, unfinished line');
    const message = `now=${now} bytes=${Array.from(bytes).join(',')} random=${random} elapsed=${elapsed}`;
    return {
      tag: 'escalate',
      val: [{ rule: 'probe.echo', severity: 'info', message, evidence: [], location: undefined, citation: undefined, fix: undefined }],
    };
  },
};
