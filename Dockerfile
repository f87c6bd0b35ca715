# The app image for docker-compose.yml. The embedded ClickHouse (chdb) ships prebuilt for glibc
# Linux, so the image is Debian-based, not Alpine.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Exactly the lock file (npm run lock keeps it one that npm ci takes).
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:client
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
VOLUME /data
EXPOSE 3000
CMD ["npx", "tsx", "server/main.ts"]
