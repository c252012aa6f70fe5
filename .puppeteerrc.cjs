// Debian's chromium is used for every browser run; puppeteer must never download its own.
module.exports = { skipDownload: true };
