using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// A Lua script sent by its SHA1 (<c>EVALSHA</c>), so the hot path never resends its text. When the
/// server answers <c>NOSCRIPT</c> (a restart or <c>SCRIPT FLUSH</c> emptied its cache) the text is
/// sent once with <c>EVAL</c>, which also caches it again for the next <c>EVALSHA</c>.
/// </summary>
public sealed class RedisScript
{
    private RedisScript(string name, string text)
    {
        Name = name;
        Text = text;
        Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Sha1 { get; }

    public static RedisScript FromResource(string name)
    {
        var assembly = typeof(RedisScript).Assembly;
        using var stream = assembly.GetManifestResourceStream($"Presence.Core.Scripts.{name}.lua")
            ?? throw new InvalidOperationException($"Embedded script '{name}.lua' is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new RedisScript(name, reader.ReadToEnd());
    }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await db.ScriptEvaluateAsync(Sha1, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(Text, keys, args).ConfigureAwait(false);
        }
    }
}
