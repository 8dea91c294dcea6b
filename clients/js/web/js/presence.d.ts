// Types of /js/presence.js for the board page: the bundle of clients/js/src.
export * from "../../src/index.js";
