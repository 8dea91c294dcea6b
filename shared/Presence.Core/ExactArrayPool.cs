namespace Presence.Core;

/// <summary>
/// Arrays of one exact length, reused across calls: StackExchange.Redis sends a script's keys and arguments as whole
/// arrays, so the shared <see cref="System.Buffers.ArrayPool{T}"/> (which hands out longer ones) does not fit. Return
/// an array only after its call completed: one that failed or timed out may still be queued and written later.
/// </summary>
internal sealed class ExactArrayPool<T>(int length)
{
    // Room for every call in flight at once under load (a service holds 32-64 concurrent heartbeats): a smaller pool
    // runs dry and every call beyond it allocates its arrays.
    private readonly T[]?[] _items = new T[]?[Math.Max(64, Environment.ProcessorCount * 16)];

    public T[] Rent()
    {
        for (var i = 0; i < _items.Length; i++)
        {
            var item = _items[i];
            if (item is not null && Interlocked.CompareExchange(ref _items[i], null, item) == item)
            {
                return item;
            }
        }

        return new T[length];
    }

    public void Return(T[] array)
    {
        // Cleared so a pooled array holds no key or value of a past call alive.
        Array.Clear(array);
        for (var i = 0; i < _items.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _items[i], array, null) is null)
            {
                return;
            }
        }
    }
}
