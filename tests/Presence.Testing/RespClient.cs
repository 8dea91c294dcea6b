using System.Globalization;
using System.Text;

namespace Presence.Testing;

/// <summary>
/// A minimal RESP2 client for the fixtures' admin commands to one node (CLUSTER, INFO, PING): independent of a
/// multiplexer's view of the cluster, so it keeps working while the topology changes.
/// </summary>
internal static class RespClient
{
    /// <summary>Sends one command and returns the reply: string, long, null, object?[] (arrays); throws on an error reply.</summary>
    public static async Task<object?> CommandAsync(int port, TimeSpan timeout, params string[] args)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, cts.Token).ConfigureAwait(false);
        await using var stream = tcp.GetStream();
        var request = new StringBuilder();
        request.Append('*').Append(args.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg).ToString(CultureInfo.InvariantCulture)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cts.Token).ConfigureAwait(false);
        var reader = new Reader(stream, cts.Token);
        return await reader.ReadAsync().ConfigureAwait(false);
    }

    /// <summary>The reply as text (bulk or simple string).</summary>
    public static async Task<string> TextAsync(int port, TimeSpan timeout, params string[] args) =>
        (await CommandAsync(port, timeout, args).ConfigureAwait(false)) as string ?? string.Empty;

    private sealed class Reader(NetworkStream stream, CancellationToken ct)
    {
        private readonly byte[] _buffer = new byte[16384];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync()
        {
            var line = await LineAsync().ConfigureAwait(false);
            var rest = line[1..];
            switch (line[0])
            {
                case '+':
                    return rest;
                case '-':
                    throw new InvalidOperationException("Redis error: " + rest);
                case ':':
                    return long.Parse(rest, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await BytesAsync(length + 2).ConfigureAwait(false);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync().ConfigureAwait(false);
                    }

                    return items;
                default:
                    throw new InvalidOperationException("Unexpected RESP reply: " + line);
            }
        }

        private async Task<string> LineAsync()
        {
            var bytes = new List<byte>();
            while (true)
            {
                var b = await ByteAsync().ConfigureAwait(false);
                if (b == '\r')
                {
                    await ByteAsync().ConfigureAwait(false);
                    return Encoding.UTF8.GetString(bytes.ToArray());
                }

                bytes.Add(b);
            }
        }

        private async Task<byte[]> BytesAsync(int count)
        {
            var bytes = new byte[count];
            for (var i = 0; i < count; i++)
            {
                bytes[i] = await ByteAsync().ConfigureAwait(false);
            }

            return bytes;
        }

        private async ValueTask<byte> ByteAsync()
        {
            if (_start == _end)
            {
                _end = await stream.ReadAsync(_buffer, ct).ConfigureAwait(false);
                _start = 0;
                if (_end == 0)
                {
                    throw new IOException("Redis closed the connection.");
                }
            }

            return _buffer[_start++];
        }
    }
}
