import { io } from 'socket.io-client'
const s = io('http://localhost:3999', { transports: ['websocket'] })
s.on('snapshot.v1', (snap: any) => console.log('snapshot risk', snap.risk.length, 'watermark', snap.watermark))
s.on('risk.updated.v1', (r: any) => console.log('risk', r.map((x: any) => `${x.brand} ${x.minute} ${x.score}`).join(' | ')))
setTimeout(() => { s.close(); process.exit(0) }, 5000)
