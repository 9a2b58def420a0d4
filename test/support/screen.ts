import { PassThrough } from 'node:stream';

/**
 * A terminal as a person looks at it: what is left on screen once the cursor movements and erasures
 * (readline's, a redraw's) are obeyed. Enough of a VT100 for CSI A B C D G J K; colours are ignored.
 * Rows that wrapped show as the lines they are on screen.
 */
export class Screen {
  /** Written to like a TTY's stdout, with its size. */
  readonly output = Object.assign(new PassThrough(), { isTTY: true, rows: 0, columns: 0 });
  private lines: string[] = [''];
  private row = 0;
  private col = 0;

  constructor(rows: number, columns = 200) {
    this.output.rows = rows;
    this.output.columns = columns;
    this.output.on('data', (chunk: Buffer) => this.write(chunk.toString()));
  }

  /** The whole screen and what scrolled off it, lines trimmed. */
  text(): string {
    return this.lines.map((line) => line.replaceAll('\u0000', '').trimEnd()).join('\n');
  }

  private write(data: string): void {
    for (let i = 0; i < data.length; i++) {
      const char = data[i]!;
      const csi = char === '\x1b' ? /^\x1b\[(\d*(?:;\d*)*)([A-Za-z])/.exec(data.slice(i)) : null;
      if (csi) {
        this.control(csi[2]!, Number(csi[1]?.split(';')[0] || 0));
        i += csi[0].length - 1;
      } else if (char === '\r') this.col = 0;
      else if (char === '\n') this.moveTo(this.row + 1, 0);
      else if (char >= ' ') this.put(char);
    }
  }

  private control(final: string, n: number): void {
    const line = this.lines[this.row]!;
    switch (final) {
      // The cursor goes no higher than the screen's top row: what scrolled off stays as it was.
      case 'A': return this.moveTo(Math.max(this.lines.length - this.output.rows, 0, this.row - (n || 1)), this.col);
      case 'B': return this.moveTo(this.row + (n || 1), this.col);
      case 'C': return void (this.col += n || 1);
      case 'D': return void (this.col = Math.max(0, this.col - (n || 1)));
      case 'G': return void (this.col = Math.max(0, (n || 1) - 1));
      case 'K':
        this.lines[this.row] = n === 0 ? line.slice(0, this.col) : n === 1 ? ' '.repeat(this.col) + line.slice(this.col) : '';
        return;
      case 'J':
        if (n === 0) this.lines = [...this.lines.slice(0, this.row), line.slice(0, this.col)];
        return;
    }
  }

  private moveTo(row: number, col: number): void {
    while (this.lines.length <= row) this.lines.push('');
    this.row = row;
    this.col = col;
  }

  /** A line longer than the screen is wide goes on in the next row; an emoji (⏳) takes two columns. */
  private put(char: string): void {
    const width = /\p{Emoji_Presentation}/u.test(char) ? 2 : 1;
    if (this.col + width > this.output.columns) this.moveTo(this.row + 1, 0);
    const line = this.lines[this.row]!.padEnd(this.col);
    this.lines[this.row] = line.slice(0, this.col) + char + (width === 2 ? '\u0000' : '') + line.slice(this.col + width);
    this.col += width;
  }
}
