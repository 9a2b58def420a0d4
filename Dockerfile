# Bakery: Slack chatops for machine images. Build: docker build -t bakery .
# Run: docker run -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e AWS_REGION -p 3000:3000 bakery

# --- build: compile TypeScript with the dev dependencies ---
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY scripts ./scripts
RUN npm run build

# --- runtime: production dependencies only, as a non-root user ---
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    BAKERY_APPS=/app/config/apps.yml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The apps file (the example unless --build-arg APPS_FILE=config/apps.yml names yours); or mount one at /app/config/apps.yml.
ARG APPS_FILE=config/apps.example.yml
COPY ${APPS_FILE} ./config/apps.yml
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
