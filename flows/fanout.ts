/**
 * Fan-out / fan-in: one source feeds three branches that work on the same document in
 * parallel (word count, character statistics, a checksum); a join waits for one result from
 * every branch and merges them into the job's `data`.
 *
 * The join uses `allSlotsReady`, so each merged record takes one item from every branch; items
 * of one job travel through the branches in the same order, so the parts it joins belong to the
 * same document (the job check below proves it).
 */
import { Flow, Routine, allSlotsReady, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

/** A document as posted. */
export interface Doc {
  id: number;
  text: string;
}

class Split extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('doc', ['id', 'text']);
  }

  logic({ in: docs }: SlotItems<{ in: Doc }>): void {
    for (const doc of docs) {
      if (typeof doc?.text !== 'string') throw new TypeError(`document has no text: ${JSON.stringify(doc)}`);
      this.emit('doc', doc);
    }
  }
}

class WordCount extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out', ['id', 'words']);
  }

  logic({ in: docs }: SlotItems<{ in: Doc }>): void {
    for (const doc of docs) {
      const words = doc.text.split(/\s+/).filter((w) => w.length > 0).length;
      this.emit('out', { id: doc.id, words });
    }
  }
}

class CharStats extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out', ['id', 'chars', 'vowels']);
  }

  logic({ in: docs }: SlotItems<{ in: Doc }>): void {
    for (const doc of docs) {
      let vowels = 0;
      for (const ch of doc.text) if ('aeiouAEIOU'.includes(ch)) vowels++;
      this.emit('out', { id: doc.id, chars: doc.text.length, vowels });
    }
  }
}

class Checksum extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out', ['id', 'fnv1a']);
  }

  logic({ in: docs }: SlotItems<{ in: Doc }>): void {
    for (const doc of docs) {
      let hash = 0x811c9dc5;
      for (let i = 0; i < doc.text.length; i++) {
        hash ^= doc.text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193) >>> 0;
      }
      this.emit('out', { id: doc.id, fnv1a: hash });
    }
  }
}

class Join extends Routine {
  constructor() {
    super();
    this.addSlot('words');
    this.addSlot('chars');
    this.addSlot('checksum');
    this.addEvent('merged', ['id', 'words', 'chars', 'vowels', 'fnv1a']);
    this.setActivationPolicy(allSlotsReady({ timeoutMs: 10_000 }));
  }

  logic(items: SlotItems, ctx: ActivationContext): void {
    const [w] = items.words as Array<{ id: number; words: number }>;
    const [c] = items.chars as Array<{ id: number; chars: number; vowels: number }>;
    const [h] = items.checksum as Array<{ id: number; fnv1a: number }>;
    if (w === undefined || c === undefined || h === undefined || w.id !== c.id || c.id !== h.id) {
      throw new Error(`join mixed documents: ${JSON.stringify([w?.id, c?.id, h?.id])}`);
    }
    const merged = { id: w.id, words: w.words, chars: c.chars, vowels: c.vowels, fnv1a: h.fnv1a };
    Object.assign(ctx.job.data, merged);
    this.emit('merged', merged);
  }
}

class Collect extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic({ in: merged }: SlotItems, ctx: ActivationContext<{ documents: number; words: number }>): void {
    const state = ctx.state;
    let { documents = 0, words = 0 } = state;
    for (const m of merged as Array<{ words: number }>) {
      documents++;
      words += m.words;
    }
    ctx.setState({ documents, words });
  }
}

const kWords = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do'];

export default defineFlow(
  import.meta.url,
  () =>
    new Flow('fanout')
      .addRoutine(new Split(), 'split')
      .addRoutine(new WordCount(), 'words')
      .addRoutine(new CharStats(), 'chars')
      .addRoutine(new Checksum(), 'checksum')
      .addRoutine(new Join(), 'join')
      .addRoutine(new Collect(), 'collect')
      .connect('split', 'doc', 'words', 'in')
      .connect('split', 'doc', 'chars', 'in')
      .connect('split', 'doc', 'checksum', 'in')
      .connect('words', 'out', 'join', 'words')
      .connect('chars', 'out', 'join', 'chars')
      .connect('checksum', 'out', 'join', 'checksum')
      .connect('join', 'merged', 'collect', 'in'),
  {
    description: 'one source, three parallel branches (words, characters, checksum), joined per document',
    input: {
      routine: 'split',
      slot: 'in',
      generate: (i) => ({ id: i, text: Array.from({ length: 8 + (i % 8) }, (_, k) => kWords[(i + k * 3) % kWords.length]).join(' ') }),
    },
  },
);
