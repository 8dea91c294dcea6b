using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Claims;
using Presence.Core;

namespace Presence.ServiceDefaults.Authentication;

/// <summary>Options of the validated-token cache (section <c>Auth:TokenCache</c>).</summary>
public sealed class TokenCacheOptions
{
    public const string Section = "Auth:TokenCache";

    /// <summary>
    /// Most tokens kept (0 turns the cache off). Each entry is the token string and a copy of its claims, about 1.5 KB:
    /// the default holds every token an instance sees within a 30 s heartbeat interval at 3k requests/s (~150 MB at most).
    /// </summary>
    public int Capacity { get; set; } = 100_000;

    /// <summary>
    /// Longest a token is served from the cache without being validated again, however long it is valid: bounds how
    /// long a signing key the authority has rotated out still admits the tokens it signed.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Bearer tokens that passed full validation, keyed by the exact token string, with the claims they carried
/// (docs/architecture.md, "Authentication"). A client sends the same token on every heartbeat, so validating it
/// once (signature, issuer, audience, lifetime) serves the next beats without parsing it again. An entry never
/// outlives the token: it is dropped at the token's <c>exp</c> (the clock skew allowance is left to the full
/// validation, which then runs again), and after <see cref="TokenCacheOptions.MaxAge"/>. <c>nbf</c> needs no check:
/// it had passed when the token was validated. Bounded: when full, expired entries are swept (at most once a second)
/// and a token that still finds no room is simply validated every time.
/// </summary>
public sealed class ValidatedTokenCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly TimeSpan _maxAge;
    private readonly Counter<long> _lookups;
    private int _count;
    private long _lastSweep;

    public ValidatedTokenCache(TokenCacheOptions options, TimeProvider time, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        _lookups = meters.Create(PresenceMetrics.MeterName).CreateCounter<long>(
            "presence.auth.token_cache.lookups", "{lookup}", "Bearer tokens looked up in the validated-token cache, by result (hit, miss).");
        _capacity = options.Capacity;
        _maxAge = options.MaxAge;
        _time = time;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Tokens held now (expired ones included until swept).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The claims of <paramref name="token"/> when it was validated and is still within its lifetime.</summary>
    public bool TryGet(ReadOnlySpan<char> token, out CachedToken cached)
    {
        cached = default;
        if (_capacity <= 0)
        {
            return false;
        }

        if (!_bySpan.TryGetValue(token, out var entry) || _time.GetUtcNow() >= entry.Until)
        {
            if (entry is not null && _entries.TryRemove(KeyValuePair.Create(entry.Token, entry)))
            {
                Interlocked.Decrement(ref _count);
            }

            _lookups.Add(1, new KeyValuePair<string, object?>(PresenceTags.Result, "miss"));
            return false;
        }

        _lookups.Add(1, new KeyValuePair<string, object?>(PresenceTags.Result, "hit"));
        cached = new CachedToken(entry.Identity, entry.IssuedUtc, entry.ExpiresUtc);
        return true;
    }

    /// <summary>
    /// Keeps a token that has just passed full validation. The identity is copied (claims only, no reference to the
    /// parsed token) and never handed out to be changed: every request wraps it in its own principal.
    /// </summary>
    public void Add(string token, ClaimsIdentity validated, DateTimeOffset? issuedUtc, DateTimeOffset expiresUtc)
    {
        ArgumentNullException.ThrowIfNull(validated);
        var now = _time.GetUtcNow();
        if (_capacity <= 0 || expiresUtc <= now)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= _capacity && !Sweep(now))
        {
            return;
        }

        var until = expiresUtc < now + _maxAge ? expiresUtc : now + _maxAge;
        var identity = new ClaimsIdentity(
            validated.Claims.Select(c => new Claim(c.Type, c.Value, c.ValueType, c.Issuer, c.OriginalIssuer)),
            validated.AuthenticationType, validated.NameClaimType, validated.RoleClaimType);
        if (_entries.TryAdd(token, new Entry(token, identity, issuedUtc, expiresUtc, until)))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Removes expired entries, at most once a second; true when there is room afterwards.</summary>
    private bool Sweep(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (now.UtcTicks - last >= TimeSpan.TicksPerSecond && Interlocked.CompareExchange(ref _lastSweep, now.UtcTicks, last) == last)
        {
            foreach (var (token, entry) in _entries)
            {
                if (now >= entry.Until && _entries.TryRemove(KeyValuePair.Create(token, entry)))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }

        return Volatile.Read(ref _count) < _capacity;
    }

    private sealed record Entry(string Token, ClaimsIdentity Identity, DateTimeOffset? IssuedUtc, DateTimeOffset ExpiresUtc, DateTimeOffset Until);
}

/// <summary>A cached token's identity (shared, read only) and the lifetime the authentication ticket reports.</summary>
public readonly record struct CachedToken(ClaimsIdentity Identity, DateTimeOffset? IssuedUtc, DateTimeOffset ExpiresUtc);
