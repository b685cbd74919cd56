// Search on a docs site opened from disk. Chromium will not start a Web Worker from a file:// page, and Material's
// search runs in one; this stand-in runs the worker script in a hidden same-origin iframe instead and passes the
// messages across. It replaces `Worker` only on file:// pages. (The file name contains "iframe-worker" so that
// Material's offline plugin does not add its own copy of such a shim from unpkg.com.)
(function () {
  if (location.protocol !== 'file:') return;

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.onerror = null;
      this.frame = document.createElement('iframe');
      this.frame.hidden = true;
      document.body.appendChild(this.frame);
      const scope = this.frame.contentWindow;
      // What a worker script expects in its global scope: postMessage to the page, importScripts (here it returns
      // a Promise, because scripts in a window load asynchronously).
      scope.postMessage = (data) => this.deliver(data);
      scope.importScripts = (...urls) => urls.reduce(
        (loaded, src) => loaded.then(() => this.load(src)), Promise.resolve());
      this.ready = this.load(new URL(url, location.href).href);
    }

    load(src) {
      return new Promise((resolve, reject) => {
        const script = this.frame.contentDocument.createElement('script');
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`could not load ${src}`));
        this.frame.contentDocument.body.appendChild(script);
      });
    }

    deliver(data) {
      const event = new MessageEvent('message', {data});
      this.dispatchEvent(event);
      if (this.onmessage) this.onmessage(event);
    }

    postMessage(data) {
      const scope = this.frame.contentWindow;
      this.ready.then(
        () => scope.dispatchEvent(new scope.MessageEvent('message', {data: structuredClone(data)})),
        (error) => {
          const event = new ErrorEvent('error', {error, message: error.message});
          this.dispatchEvent(event);
          if (this.onerror) this.onerror(event);
        });
    }

    terminate() { this.frame.remove(); }
  }

  window.Worker = FrameWorker;
})();
