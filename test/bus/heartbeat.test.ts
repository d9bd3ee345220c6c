import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { EventBus, HeartbeatTopic, LivenessMonitor, createHeartbeat } from '../../src/bus/index.ts';

describe('Heartbeat and LivenessMonitor', () => {
  it('tells active from quiet from stalled', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const monitor = new LivenessMonitor({ clock, stallFactor: 2.5 });
    bus.subscribe('**', (e) => monitor.observe(e));
    const heartbeat = createHeartbeat(bus, { runId: 'r1', intervalMs: 1000, clock });

    expect(monitor.status('r1')).toBe('unknown');
    clock.advance(1000);
    await tick();
    expect(monitor.status('r1')).toBe('quiet'); // beats, nothing else

    bus.publish('job.done', {}, { runId: 'r1' });
    await tick();
    expect(monitor.status('r1')).toBe('active');

    clock.advance(1000);
    await tick();
    clock.advance(1000);
    await tick();
    expect(monitor.status('r1')).toBe('quiet');

    heartbeat.stop(); // the run stalls: no more beats
    clock.advance(2000);
    expect(monitor.status('r1')).toBe('quiet');
    clock.advance(600);
    expect(monitor.status('r1')).toBe('stalled');
    expect(heartbeat.beats).toBe(3);
    expect(bus.getStats().topics[HeartbeatTopic]?.published).toBe(3);
  });

  it('a heartbeat carries lastSeq so a consumer detects what it missed', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const monitor = new LivenessMonitor({ clock });
    bus.subscribe(HeartbeatTopic, (e) => monitor.observe(e)); // sees only beats
    bus.subscribe('data', () => {});
    createHeartbeat(bus, { runId: 'r', intervalMs: 10, clock });
    clock.advance(10); // beat seq 1
    await tick();
    for (let i = 0; i < 5; i++) bus.publish('data', i, { runId: 'r' }); // seq 2..6, unseen
    clock.advance(10); // beat seq 7 says lastSeq 6
    await tick();
    expect(monitor.runs()).toEqual([{ runId: 'r', status: 'quiet', lastSeq: 7, missed: 5 }]);
  });

  it('stops when the bus shuts down', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    bus.subscribe('**', () => {});
    const heartbeat = createHeartbeat(bus, { runId: 'r', intervalMs: 10, clock });
    await bus.shutdown();
    clock.advance(100);
    expect(heartbeat.isRunning).toBe(false);
    expect(heartbeat.beats).toBe(0);
  });
});
