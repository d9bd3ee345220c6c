import { describe, expect, it } from 'vitest';
import { pickThread } from '../../src/pool/balancer.ts';

type Thread = Parameters<typeof pickThread>[1][number];
type Task = Parameters<typeof pickThread>[0];

const thread = (id: number, currentUsage: number, isRunningAbortableTask = false): Thread =>
  ({ id, currentUsage, isRunningAbortableTask }) as unknown as Thread;
const task = (isAbortable: boolean): Task => ({ isAbortable }) as unknown as Task;

describe('the owned pool balancer (pickThread)', () => {
  it('gives a batch to an idle thread first', () => {
    expect(pickThread(task(false), [thread(1, 1), thread(2, 0)], 2)?.id).toBe(2);
  });

  it('at depth 1 never gives a second batch to a busy thread', () => {
    expect(pickThread(task(false), [thread(1, 1), thread(2, 1)], 1)).toBeNull();
  });

  it('at depth 2 queues the extra batch on the least busy thread below two', () => {
    expect(pickThread(task(false), [thread(1, 1), thread(2, 1)], 2)?.id).toBe(1);
    expect(pickThread(task(false), [thread(1, 2), thread(2, 1)], 2)?.id).toBe(2);
    expect(pickThread(task(false), [thread(1, 2), thread(2, 2)], 2)).toBeNull();
  });

  it('a task with a signal only goes to an idle thread; nothing joins a thread running one', () => {
    expect(pickThread(task(true), [thread(1, 1), thread(2, 1)], 2)).toBeNull();
    expect(pickThread(task(true), [thread(1, 1), thread(2, 0)], 2)?.id).toBe(2);
    expect(pickThread(task(false), [thread(1, 1, true), thread(2, 2)], 2)).toBeNull();
  });
});
