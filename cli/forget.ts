import { forgetUser, ForgetPendingError, recommenderApplicationId, RECOMMEND_STRATEGIES } from '../processors/index.js';
import { connectStreams, createTypedProducer, requireTopics } from '../streams/index.js';
import { createWarehouseClient, requireWarehouseSchema, warehouseOptions } from '../warehouse/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, intFlag, parseFlagsAndArgs } from './flags.js';

const HELP = `usage: buddies forget user ID [--group-prefix P] [--strategy S] [--timeout-s N] [--no-warehouse]

The right to be forgotten (docs/privacy.md). Writes a FORGET_USER event to the user's feedback partition and a
DELETE event for each playlist they made; the running processors (buddies start) drop the user's state and write
tombstones for their taste, buddies and latest list; other users' buddy lists are recomputed without them. Once
the recommender and the warehouse sink have processed everything up to the request, their ClickHouse rows are
deleted. Ends by checking that buddies inspect and the warehouse no longer know them.

  --group-prefix P    the processors' group prefix (default: buddies)
  --strategy S        which recommender: ${RECOMMEND_STRATEGIES.join(', ')} (default buddies)
  --timeout-s N       how long to wait for the processors (default 60)
  --no-warehouse      leave ClickHouse alone (no warehouse in this deployment)

Raw events stay in the listens and feedback topics until their retention (30 days) removes them.
`;

export const forgetCommand: Command = {
  summary: 'forget a user everywhere: state, tombstones, buddy lists, warehouse rows',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      'group-prefix': { type: 'string', default: 'buddies' },
      strategy: { type: 'string' },
      'timeout-s': { type: 'string' },
      'no-warehouse': { type: 'boolean', default: false },
    });
    const [what, id, extra] = positionals;
    if (what !== 'user') throw new UsageError(what ? `unknown thing to forget '${what}' (only: user)` : 'missing what to forget: user ID');
    if (!id) throw new UsageError('missing the user id: buddies forget user ID');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const strategy = choiceFlag('strategy', values.strategy, RECOMMEND_STRATEGIES, 'buddies');
    const timeoutMs = intFlag('timeout-s', values['timeout-s'], 60, 1, 3600) * 1000;
    const groupPrefix = values['group-prefix'];
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const { kafka, serde, topics } = await connectStreams(ctx.config, { role: 'forget' });
    await requireTopics(kafka, topics, ['feedback', 'playlists', 'listens', 'tasteEmbeddings', 'pairings', 'recommendations']);
    const wh = values['no-warehouse'] ? undefined : warehouseOptions(ctx.config);
    if (wh) await requireWarehouseSchema(wh);
    const client = wh ? createWarehouseClient(wh) : undefined;
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    try {
      const result = await forgetUser({
        kafka, serde, producer, userId: id, recommenderApplicationId: recommenderApplicationId(groupPrefix, strategy), groupPrefix, timeoutMs, log,
        ...(client && wh ? { warehouse: { client, database: wh.database } } : {}),
      });
      process.stdout.write(`forgot ${id}: state, taste, buddies and latest list removed${result.playlists ? `, ${result.playlists} playlist(s) deleted` : ''}${result.rowsLeft ? ', warehouse rows deleted' : ''}\n`);
      return 0;
    } catch (err) {
      if (err instanceof ForgetPendingError) throw new InputError(`${err.message}: is buddies start running? The request stays queued; run this command again once it is, to finish`);
      throw err;
    } finally {
      await producer.disconnect();
      await client?.close();
    }
  },
};
