import { inspectUser, knowsUser, recommenderApplicationId, RECOMMEND_STRATEGIES, type UserInspection } from '../processors/index.js';
import { connectStreams, requireTopics } from '../streams/index.js';
import { UsageError, type Command } from './command.js';
import { choiceFlag, parseFlagsAndArgs } from './flags.js';

const HELP = `usage: buddies inspect user ID [--json] [--group-prefix P] [--strategy S]

A user's current state, read from the live system: their latest taste embedding, buddies (pairing) and
recommendation list, and the recommender store's own view (events counted, excluded playlists, follows).
Reads one partition of each topic (the one holding the user's key).

  --json              one JSON object: userId, taste, pairing, recommendations, state (null where absent)
  --group-prefix P    the recommender's group prefix (default: buddies)
  --strategy S        which recommender: ${RECOMMEND_STRATEGIES.join(', ')} (default buddies)

Exit code 2 when the live system does not know the user.
`;

function text(u: UserInspection): string {
  const lines = [`user ${u.userId}`];
  if (u.state) {
    const excluded = u.state.excluded;
    lines.push(`  state: ${u.state.events} events counted, ${u.state.lists} lists, ${excluded.length} excluded playlists (${excluded.filter((e) => e.until === null).length} for good), follows ${u.state.follows.length}, embeddings ${u.state.embeddingVersion}`);
  } else lines.push('  state: none in the recommender store');
  lines.push(u.taste ? `  taste: ${u.taste.eventCount} positive events, ${u.taste.vector.length} dims, embeddings ${u.taste.embeddingVersion}, updated ${new Date(u.taste.updatedAt).toISOString()}` : '  taste: not published yet (too little signal)');
  lines.push(u.pairing ? `  buddies: ${u.pairing.buddies.slice(0, 5).map((b) => `${b.userId} (${Math.round(b.score * 100)}%)`).join(', ')}${u.pairing.buddies.length > 5 ? `, and ${u.pairing.buddies.length - 5} more` : ''}` : '  buddies: none yet');
  if (u.recommendations) {
    lines.push(`  latest list (${u.recommendations.modelVersion}, ${new Date(u.recommendations.generatedAt).toISOString()}):`);
    for (const it of u.recommendations.items) lines.push(`    ${it.rank}. ${it.playlistId}  ${it.explanation.reason}`);
  } else lines.push('  latest list: none');
  return `${lines.join('\n')}\n`;
}

export const inspectCommand: Command = {
  summary: "show a user's live state: taste, buddies, latest list, store entry",
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      json: { type: 'boolean', default: false },
      'group-prefix': { type: 'string', default: 'buddies' },
      strategy: { type: 'string' },
    });
    const [what, id, extra] = positionals;
    if (what !== 'user') throw new UsageError(what ? `unknown thing to inspect '${what}' (only: user)` : 'missing what to inspect: user ID');
    if (!id) throw new UsageError('missing the user id: buddies inspect user ID');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const strategy = choiceFlag('strategy', values.strategy, RECOMMEND_STRATEGIES, 'buddies');
    const { kafka, serde, topics } = await connectStreams(ctx.config, { role: 'inspect' });
    await requireTopics(kafka, topics, ['tasteEmbeddings', 'pairings', 'recommendations']);
    const u = await inspectUser({ kafka, serde, applicationId: recommenderApplicationId(values['group-prefix'], strategy), userId: id });
    if (!knowsUser(u)) {
      process.stderr.write(`buddies: the live system does not know user ${id} (no state, taste, buddies or list); check the id, or whether buddies start has processed their events\n`);
      return 2;
    }
    process.stdout.write(values.json ? `${JSON.stringify(u)}\n` : text(u));
    return 0;
  },
};
