// The `ceiling` of the benchmarks: a bare Fastify POST route returning a small JSON body, run as
// its own process like Purse, so both are measured the same way on the same machine.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/echo', async () => ({ ok: true, amount: 13 }));
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(`listening on ${address}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
