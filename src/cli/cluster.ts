export async function run(args: string[]): Promise<number> { console.log('cluster', args); return 0; }
