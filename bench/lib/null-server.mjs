// The do-nothing webhook receiver: plain node:http that reads the whole body
// and answers 202 with a small JSON, as the bot does once an event is stored.
// Driven exactly like the bot, it shows what the load generator, the loopback
// network and Node's HTTP stack cost on their own.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 0);
let accepted = 0;

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    Buffer.concat(chunks);
    accepted += 1;
    const body = JSON.stringify({ accepted: true, id: accepted, duplicate: false });
    res.writeHead(202, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": "no-store",
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
